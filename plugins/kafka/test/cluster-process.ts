/**
 * A real cluster for integration tests: N `sluice start` processes on loopback (each a
 * broker and a controller, as the 3-node example runs them), formatted with one cluster id,
 * each with its own data dir under one temporary root, a PLAINTEXT and a CONTROLLER
 * listener, and `controller.quorum.voters` built from the chosen CONTROLLER ports. Built on
 * broker-process.ts (one process per node) and the plugin's own Kafka client.
 *
 * Timeouts are shortened so that failover happens within a test's time, but only those
 * the built broker knows (its config table), so the harness does not log a warning per
 * key for settings a part of the cluster not yet built would read.
 *
 * Ports are chosen before any node starts, because every node's voters list names them;
 * if one is taken by the time a node binds it, the whole cluster starts again on new ones.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerConfigTable } from '../../../kernel/dist/config/broker-config.js';
import { formatProperties } from '@sluice/sdk';
import { afterAll, beforeAll } from 'vitest';
import { KafkaClient, type Metadata } from '../src/cli/client.js';
import { clusterStatus, type ClusterStatus } from '../src/cli/cluster.js';
import { REPO_ROOT, freePort, startBroker, type BrokerProcess } from './broker-process.js';
import { PYTHON } from './clients.js';

const MAIN = join(REPO_ROOT, 'kernel/dist/cli/main.js');
const CLIENTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'clients');
const FORMAT_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const START_ATTEMPTS_MAX = 3;
const WAIT_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS_MIN = 50;
const POLL_INTERVAL_MS_MAX = 500;
/** How much of each node's output a failure message carries. */
const OUTPUT_TAIL_CHARS = 12_000;

/**
 * Settings for a test cluster on a loaded two-core machine: failure detection in a few
 * seconds instead of Kafka's tens, but not so tight that a busy event loop fences a live
 * broker. Internal topics get few partitions so that creating them is cheap.
 */
export const CLUSTER_TEST_DEFAULTS: Readonly<Record<string, string>> = {
  'controller.quorum.election.timeout.ms': '1000',
  'controller.quorum.fetch.timeout.ms': '2000',
  'broker.heartbeat.interval.ms': '500',
  'broker.session.timeout.ms': '4000',
  'replica.lag.time.max.ms': '5000',
  'default.replication.factor': '3',
  'min.insync.replicas': '2',
  'offsets.topic.num.partitions': '3',
  'offsets.topic.replication.factor': '3',
  'transaction.state.log.num.partitions': '3',
  'transaction.state.log.replication.factor': '3',
  'group.initial.rebalance.delay.ms': '0',
};

export interface ClusterOptions {
  /** Default 3. */
  readonly nodes?: number;
  /** Properties for every node, over the test defaults. */
  readonly overrides?: Readonly<Record<string, string>>;
  /** Extra environment, e.g. SLUICE_LOG_LEVEL=debug. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ClusterNode {
  readonly nodeId: number;
  /**
   * `broker,controller` for the voters and for a node added with addController (a controller
   * that is not a voter until `add-controller` makes it one), `broker` for a node added with
   * addBroker (a Raft observer).
   */
  readonly roles: string;
  /** The PLAINTEXT port clients use. */
  readonly port: number;
  /** The CONTROLLER listener's port; null on a broker-only node. */
  readonly controllerPort: number | null;
  readonly dataDir: string;
  /** `127.0.0.1:<port>`. */
  readonly bootstrap: string;
  /** Whether the process is running (started and neither killed nor exited). */
  readonly running: boolean;
  /** Everything this node wrote, over all its starts: print it when a test fails. */
  output(): string;
}

export class Cluster {
  private readonly processes = new Map<number, BrokerProcess>();
  private readonly pastOutput = new Map<number, string>();
  /**
   * `controller.quorum.voters` of every node: the nodes the cluster was formed with. Nodes
   * added later get the same list, as an operator's new node names the existing quorum.
   */
  private readonly bootstrapVoters: string;

  private constructor(
    readonly clusterId: string,
    private readonly root: string,
    private readonly specs: NodeSpec[],
    private readonly overrides: Readonly<Record<string, string>>,
    private readonly env: Readonly<Record<string, string>> | undefined,
  ) {
    this.bootstrapVoters = specs.filter((v) => v.controllerPort !== null).map((v) => `${v.nodeId}@127.0.0.1:${v.controllerPort}`).join(',');
  }

  /** Formats and starts every node, concurrently: a node may wait for the quorum before it says `started`. */
  /**
   * Starts the nodes and waits until every one is an unfenced broker and the quorum has a
   * leader; a failure carries each node's log tail.
   */
  static async startFormed(opts: ClusterOptions = {}): Promise<Cluster> {
    const cluster = await Cluster.start(opts);
    const count = opts.nodes ?? 3;
    await cluster.waitFor(`${count} brokers and a quorum leader`, async () => {
      const s = await cluster.status();
      return s.brokers.length === count && s.quorum !== null && s.quorum.leaderId > 0;
    }).catch((e: unknown) => {
      throw cluster.explain(e);
    });
    return cluster;
  }

  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const count = opts.nodes ?? 3;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < START_ATTEMPTS_MAX; attempt++) {
      const root = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
      liveRoots.add(root);
      const specs: NodeSpec[] = [];
      for (let nodeId = 1; nodeId <= count; nodeId++) {
        const dataDir = join(root, `node${nodeId}`);
        mkdirSync(dataDir);
        specs.push({ nodeId, roles: 'broker,controller', port: await freePort(), controllerPort: await freePort(), dataDir });
      }
      const known = new Set(brokerConfigTable().map((row) => row.name));
      const defaults = Object.fromEntries(Object.entries(CLUSTER_TEST_DEFAULTS).filter(([key]) => known.has(key)));
      const cluster = new Cluster(randomBytes(16).toString('base64url'), root, specs, { ...defaults, ...opts.overrides }, opts.env);
      try {
        await Promise.all(specs.map((s) => cluster.format(s)));
        // Settled, so that a node failing to start is not left with its peers still starting.
        const started = await Promise.allSettled(specs.map((s) => cluster.startNode(s)));
        const failed = started.find((r) => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        return cluster;
      } catch (e) {
        lastError = e as Error;
        await cluster.stop();
        if (!/EADDRINUSE/.test(lastError.message)) throw lastError;
      }
    }
    throw lastError!;
  }

  get nodes(): readonly ClusterNode[] {
    return this.specs.map((s) => this.node(s.nodeId));
  }

  node(nodeId: number): ClusterNode {
    const s = this.spec(nodeId);
    const processes = this.processes;
    const past = this.pastOutput;
    return {
      ...s,
      bootstrap: `127.0.0.1:${s.port}`,
      get running() {
        return processes.has(nodeId);
      },
      output: () => (past.get(nodeId) ?? '') + (processes.get(nodeId)?.output() ?? ''),
    };
  }

  /** The running nodes' addresses, comma-separated, for a client that must survive any one of them dying. */
  bootstrapServers(): string {
    return this.nodes.filter((n) => n.running).map((n) => n.bootstrap).join(',');
  }

  /** A running node's address; the first running one when `nodeId` is not given. */
  bootstrap(nodeId?: number): string {
    const node = nodeId === undefined ? this.nodes.find((n) => n.running) : this.node(nodeId);
    if (node === undefined || !node.running) throw new Error(nodeId === undefined ? 'no node is running' : `node ${nodeId} is not running`);
    return node.bootstrap;
  }

  /** Sends `signal` to the node's process and resolves with its exit code once it has exited. */
  async kill(nodeId: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> {
    const child = this.processes.get(nodeId);
    if (child === undefined) throw new Error(`node ${nodeId} is not running`);
    const code = await child.kill(signal);
    this.retire(nodeId);
    return code;
  }

  /**
   * Adds a node with `process.roles=broker` (not a voter: it follows the metadata log as a
   * Raft observer), formatted with the cluster's id, as an operator adds a broker.
   */
  async addBroker(): Promise<ClusterNode> {
    const nodeId = Math.max(...this.specs.map((n) => n.nodeId)) + 1;
    const dataDir = join(this.root, `node${nodeId}`);
    mkdirSync(dataDir);
    const spec: NodeSpec = { nodeId, roles: 'broker', port: await freePort(), controllerPort: null, dataDir };
    this.specs.push(spec);
    await this.format(spec);
    await this.startNode(spec);
    return this.node(nodeId);
  }

  /**
   * Adds a node with `process.roles=broker,controller` that is not a voter: it starts as an
   * observer of the metadata log until `sluice metadata quorum add-controller` makes it one.
   * Its `controller.quorum.voters` names `voters` (default: the voters the cluster was formed
   * with), where it looks for the quorum leader.
   */
  async addController(voters?: readonly number[]): Promise<ClusterNode> {
    const nodeId = Math.max(...this.specs.map((n) => n.nodeId)) + 1;
    const dataDir = join(this.root, `node${nodeId}`);
    mkdirSync(dataDir);
    const spec: NodeSpec = {
      nodeId, roles: 'broker,controller', port: await freePort(), controllerPort: await freePort(), dataDir,
      ...(voters === undefined ? {} : { voters: voters.map((id) => `${id}@${this.controllerBootstrap(id)}`).join(',') }),
    };
    this.specs.push(spec);
    await this.format(spec);
    await this.startNode(spec);
    return this.node(nodeId);
  }

  /** A node's properties written as its server.properties (for `add-controller --config`); the file's path. */
  writeConfigFile(nodeId: number): string {
    const file = join(this.root, `node${nodeId}.properties`);
    writeFileSync(file, formatProperties(Object.entries(this.nodeProperties(this.spec(nodeId)))), 'latin1');
    return file;
  }

  /** The node's CONTROLLER listener as host:port, for `--bootstrap-controller`. */
  controllerBootstrap(nodeId: number): string {
    const port = this.spec(nodeId).controllerPort;
    if (port === null) throw new Error(`node ${nodeId} has no controller listener`);
    return `127.0.0.1:${port}`;
  }

  /**
   * A stopped node's disk replaced: its data dir emptied and formatted again with the
   * cluster's id, as an operator brings back a node whose disk was lost.
   */
  async replaceDisk(nodeId: number): Promise<void> {
    if (this.processes.has(nodeId)) throw new Error(`node ${nodeId} is still running`);
    const s = this.spec(nodeId);
    rmSync(s.dataDir, { recursive: true, force: true });
    mkdirSync(s.dataDir);
    await this.format(s);
  }

  /** Starts a stopped node again on its ports and data dir. */
  async restart(nodeId: number): Promise<void> {
    if (this.processes.has(nodeId)) throw new Error(`node ${nodeId} is still running`);
    await this.startNode(this.spec(nodeId));
  }

  /**
   * Polls `probe` until it returns something other than undefined or false, with a growing
   * interval, for at most `timeoutMs`; then fails naming `what` and the probe's last error.
   * A probe that throws is retried: nodes refuse connections while they start or fail over.
   */
  async waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = WAIT_TIMEOUT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (let intervalMs = POLL_INTERVAL_MS_MIN; ; intervalMs = Math.min(intervalMs * 2, POLL_INTERVAL_MS_MAX)) {
      try {
        const value = await probe();
        if (value !== undefined && value !== false) return value;
        lastError = undefined;
      } catch (e) {
        lastError = e;
      }
      if (Date.now() + intervalMs > deadline) {
        const why = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
        throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** Metadata for `topics` (null: every topic) as `nodeId` (default: any running node) answers it. */
  async metadata(nodeId?: number, topics: readonly string[] | null = null): Promise<Metadata> {
    const client = new KafkaClient(this.bootstrap(nodeId));
    try {
      return await client.metadata(topics);
    } finally {
      client.close();
    }
  }

  /** `sluice cluster status` as data, asking `nodeId` (default: any running node) for everything. */
  async status(nodeId?: number): Promise<ClusterStatus> {
    const client = new KafkaClient(this.bootstrap(nodeId));
    try {
      return await clusterStatus(client, client);
    } finally {
      client.close();
    }
  }

  /** The end of every node's output, headed by its id: for a failing test's message. */
  output(charsPerNode = OUTPUT_TAIL_CHARS): string {
    return this.nodes.map((n) => `----- node ${n.nodeId}${n.running ? '' : ' (not running)'} -----\n${n.output().slice(-charsPerNode)}`).join('\n');
  }

  /** `e` with the end of every node's output appended: what to throw from a failing test. */
  explain(e: unknown): Error {
    return new Error(`${e instanceof Error ? e.message : String(e)}\n${this.output()}`);
  }

  /** Stops every running node (SIGTERM, then SIGKILL after none answers) and removes the data unless SLUICE_IT_KEEP_DATA=1. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map(async (nodeId) => {
      const child = this.processes.get(nodeId)!;
      const timer = setTimeout(() => void child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        await child.stop();
      } finally {
        clearTimeout(timer);
        this.retire(nodeId);
      }
    }));
    removeRoot(this.root);
  }

  private spec(nodeId: number): NodeSpec {
    const s = this.specs.find((n) => n.nodeId === nodeId);
    if (s === undefined) throw new Error(`no node ${nodeId} in this cluster`);
    return s;
  }

  private nodeProperties(s: NodeSpec): Record<string, string> {
    const plaintext = `PLAINTEXT://127.0.0.1:${s.port}`;
    return {
      ...this.overrides,
      'node.id': String(s.nodeId),
      'process.roles': s.roles,
      listeners: s.controllerPort === null ? plaintext : `${plaintext},CONTROLLER://127.0.0.1:${s.controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${s.port}`,
      'controller.listener.names': 'CONTROLLER',
      'controller.quorum.voters': s.voters ?? this.bootstrapVoters,
      'log.dirs': s.dataDir,
    };
  }

  /** `sluice format` with the cluster's id, as an operator formats each node before the first start. */
  private format(s: NodeSpec): Promise<void> {
    const args = [MAIN, 'format', '--cluster-id', this.clusterId];
    for (const [k, v] of Object.entries(this.nodeProperties(s))) args.push('--override', `${k}=${v}`);
    return new Promise((resolve, reject) => {
      execFile(process.execPath, args, { cwd: REPO_ROOT, timeout: FORMAT_TIMEOUT_MS }, (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`sluice format of node ${s.nodeId} failed: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      });
    });
  }

  private async startNode(s: NodeSpec): Promise<void> {
    const child = await startBroker({
      port: s.port, dataDir: s.dataDir, overrides: this.nodeProperties(s), env: this.env, startTimeoutMs: START_TIMEOUT_MS,
    });
    this.processes.set(s.nodeId, child);
  }

  /** Keeps a stopped process's output for later failure messages. */
  private retire(nodeId: number): void {
    const child = this.processes.get(nodeId);
    if (child === undefined) return;
    this.pastOutput.set(nodeId, `${this.pastOutput.get(nodeId) ?? ''}${child.output()}\n----- node ${nodeId} exited -----\n`);
    this.processes.delete(nodeId);
  }
}

interface NodeSpec {
  readonly nodeId: number;
  readonly roles: string;
  readonly port: number;
  readonly controllerPort: number | null;
  readonly dataDir: string;
  /** Its `controller.quorum.voters`, when not the cluster's bootstrap voters. */
  readonly voters?: string;
}

/** A SIGTERM'd node gets this long for its controlled shutdown before it is killed. */
const STOP_TIMEOUT_MS = 30_000;

/** Temporary roots not yet removed: removed when the test process exits, like broker-process.ts's data dirs. */
const liveRoots = new Set<string>();
process.once('exit', () => {
  for (const root of liveRoots) removeRoot(root);
});

function removeRoot(root: string): void {
  if (!liveRoots.has(root) || process.env['SLUICE_IT_KEEP_DATA'] === '1') return;
  liveRoots.delete(root);
  rmSync(root, { recursive: true, force: true });
}

export interface Ack {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface BackgroundProducer {
  /** Acknowledged records so far, in the order the acknowledgements arrived. */
  readonly acks: readonly Ack[];
  /** Failed deliveries so far, as `partition value ERROR_NAME`. */
  readonly failures: readonly string[];
  /** Stops producing, waits for the outstanding deliveries and resolves with the producer's counts. */
  stop(): Promise<{ sent: number; acked: number; failed: number; unflushed: number }>;
  /** The producer's stderr so far, for failure messages. */
  stderr(): string;
}

/**
 * A confluent_kafka producer (clients/cluster_producer.py) writing acks=all to `topic`
 * until stopped, reporting each acknowledgement as it arrives: the test kills nodes while it
 * runs and checks afterwards that everything acknowledged is in the log.
 */
export function startProducer(bootstrap: string, args: { topic: string; partitions: number; ratePerS?: number; config?: Record<string, string | number> }): BackgroundProducer {
  const child = spawn(PYTHON, [join(CLIENTS_DIR, 'cluster_producer.py'), bootstrap], { stdio: ['pipe', 'pipe', 'pipe'] });
  const acks: Ack[] = [];
  const failures: string[] = [];
  let stderr = '';
  let pending = '';
  let done: ((counts: { sent: number; acked: number; failed: number; unflushed: number }) => void) | undefined;
  const finished = new Promise<{ sent: number; acked: number; failed: number; unflushed: number }>((resolve, reject) => {
    done = resolve;
    child.once('error', reject);
    child.once('close', (code) => reject(new Error(`cluster_producer.py exited with ${code} without a summary:\n${stderr.slice(-4000)}`)));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (stderr.length > PRODUCER_STDERR_CHARS_MAX) stderr = stderr.slice(-PRODUCER_STDERR_CHARS_MAX / 2);
  });
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const [kind, ...rest] = line.split(' ');
      if (kind === 'ack') acks.push({ partition: Number(rest[0]), offset: Number(rest[1]), value: rest[2]! });
      else if (kind === 'fail') failures.push(rest.join(' '));
      else if (kind === 'done') done!(JSON.parse(rest.join(' ')) as { sent: number; acked: number; failed: number; unflushed: number });
    }
  });
  // A test runner that dies must not leave a producer writing.
  process.once('exit', () => child.kill('SIGKILL'));
  child.stdin.write(`${JSON.stringify({ topic: args.topic, partitions: args.partitions, rate_per_s: args.ratePerS ?? 200, config: args.config ?? {} })}\n`);
  return {
    acks,
    failures,
    stderr: () => stderr,
    stop: () => {
      child.stdin.end();
      return finished;
    },
  };
}

const PRODUCER_STDERR_CHARS_MAX = 1024 * 1024;

/**
 * The one cluster a test file's tests share: formed before them, stopped after them. The
 * object returned stands for it (its methods act on it) once `beforeAll` has run.
 */
export function clusterPerFile(opts: ClusterOptions, timeoutMs: number): Cluster {
  let started: Cluster | undefined;
  beforeAll(async () => {
    started = await Cluster.startFormed(opts);
  }, timeoutMs);
  afterAll(async () => {
    await started?.stop();
  }, timeoutMs);
  return new Proxy({} as Cluster, {
    get(_target, property) {
      if (started === undefined) throw new Error('the cluster is used before beforeAll formed it, or it failed to start');
      const value: unknown = Reflect.get(started, property);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}
