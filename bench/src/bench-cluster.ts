/**
 * A Sluice cluster on loopback for bench:cluster: N `sluice start` processes, each a broker
 * and a controller, formatted with one cluster id, each with its own data dir and a
 * PLAINTEXT and a CONTROLLER port chosen before any starts (every node's voters list names
 * them). The same layout as examples/cluster-3-nodes and the test harness, kept here
 * because bench code does not import tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, REPO_ROOT, stopProcess, tempDir } from './processes.js';

const MAIN = join(REPO_ROOT, 'kernel/dist/cli/main.js');
const FORMAT_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const OUTPUT_CHARS_MAX = 1024 * 1024;

interface NodeSpec {
  readonly nodeId: number;
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
}

const live = new Set<ChildProcess>();
// An interrupted bench must not leave nodes holding ports.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class BenchCluster {
  private readonly running = new Map<number, { child: ChildProcess; output: () => string }>();

  private constructor(
    private readonly clusterId: string,
    private readonly root: { path: string; remove(): void },
    private readonly specs: readonly NodeSpec[],
    private readonly overrides: Readonly<Record<string, string>>,
  ) {}

  static async start(nodes: number, overrides: Readonly<Record<string, string>>): Promise<BenchCluster> {
    const root = tempDir('sluice-bench-cluster-');
    const specs: NodeSpec[] = [];
    for (let nodeId = 1; nodeId <= nodes; nodeId++) {
      const dataDir = join(root.path, `node${nodeId}`);
      mkdirSync(dataDir);
      specs.push({ nodeId, port: await freePort(), controllerPort: await freePort(), dataDir });
    }
    const cluster = new BenchCluster(randomBytes(16).toString('base64url'), root, specs, overrides);
    try {
      await Promise.all(specs.map((s) => cluster.format(s)));
      // Concurrently: a node of a multi-voter quorum waits for its peers before it says it started.
      const started = await Promise.allSettled(specs.map((s) => cluster.startNode(s)));
      const failed = started.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  get nodeIds(): number[] {
    return this.specs.map((s) => s.nodeId);
  }

  isRunning(nodeId: number): boolean {
    return this.running.has(nodeId);
  }

  address(nodeId: number): string {
    return `127.0.0.1:${this.spec(nodeId).port}`;
  }

  /** The running nodes' addresses, comma-separated. */
  bootstrapServers(): string {
    return this.specs.filter((s) => this.running.has(s.nodeId)).map((s) => this.address(s.nodeId)).join(',');
  }

  /** SIGKILLs (or SIGTERMs) the node; resolves once it has exited. */
  async kill(nodeId: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const node = this.running.get(nodeId);
    if (node === undefined) throw new Error(`node ${nodeId} is not running`);
    const exited = new Promise<void>((ok) => {
      if (node.child.exitCode !== null || node.child.signalCode !== null) ok();
      else node.child.once('exit', () => ok());
    });
    node.child.kill(signal);
    this.running.delete(nodeId);
    await exited;
  }

  async restart(nodeId: number): Promise<void> {
    if (this.running.has(nodeId)) throw new Error(`node ${nodeId} is still running`);
    await this.startNode(this.spec(nodeId));
  }

  output(nodeId: number): string {
    return this.running.get(nodeId)?.output() ?? '';
  }

  async stop(): Promise<void> {
    await Promise.all([...this.running.values()].map((n) => stopProcess(n.child, 30_000)));
    this.running.clear();
    this.root.remove();
  }

  private spec(nodeId: number): NodeSpec {
    const s = this.specs.find((n) => n.nodeId === nodeId);
    if (s === undefined) throw new Error(`no node ${nodeId}`);
    return s;
  }

  private properties(s: NodeSpec): string[] {
    const voters = this.specs.map((v) => `${v.nodeId}@127.0.0.1:${v.controllerPort}`).join(',');
    return Object.entries({
      ...this.overrides,
      'node.id': String(s.nodeId),
      'process.roles': 'broker,controller',
      listeners: `PLAINTEXT://127.0.0.1:${s.port},CONTROLLER://127.0.0.1:${s.controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${s.port}`,
      'controller.listener.names': 'CONTROLLER',
      'controller.quorum.voters': voters,
      'log.dirs': s.dataDir,
    }).flatMap(([k, v]) => ['--override', `${k}=${v}`]);
  }

  private format(s: NodeSpec): Promise<void> {
    return new Promise((ok, fail) => {
      execFile(process.execPath, [MAIN, 'format', '--cluster-id', this.clusterId, ...this.properties(s)], { cwd: REPO_ROOT, timeout: FORMAT_TIMEOUT_MS },
        (error, stdout, stderr) => (error === null ? ok() : fail(new Error(`sluice format of node ${s.nodeId} failed: ${error.message}\n${stdout}${stderr}`))));
    });
  }

  private startNode(s: NodeSpec): Promise<void> {
    const child = spawn(process.execPath, [MAIN, 'start', ...this.properties(s)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let output = '';
    let started = false;
    child.once('exit', () => live.delete(child));
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(`node ${s.nodeId} did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
      }, START_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.length > OUTPUT_CHARS_MAX) output = output.slice(-OUTPUT_CHARS_MAX / 2);
        // Once: a stopping process still writes, and must not be taken for a started one.
        if (!started && /\bSluice started\b/.test(output)) {
          started = true;
          clearTimeout(timer);
          this.running.set(s.nodeId, { child, output: () => output });
          ok();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`node ${s.nodeId} exited with ${code} before it started:\n${output}`));
      });
    });
  }
}
