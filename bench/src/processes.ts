/**
 * Child processes for the end-to-end bench: the broker (started as an operator would,
 * `node kernel/dist/cli/main.js start`, on a loopback port with a temporary data dir)
 * and the load generators, read line by line so CPU can be sampled at the moments a
 * phase starts and ends rather than over the whole process life (Python start-up would
 * otherwise count as idle client time).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
// An interrupted bench must not leave a broker holding a port and a data dir.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
// Without a handler, a signal ends the process without the 'exit' event.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

/** A temporary dir removed at exit, even an interrupted one, unless removed before. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(path);
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      tempDirs.delete(path);
    },
  };
}

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      ok();
    });
    child.kill('SIGTERM');
  });
}

export interface Broker {
  readonly pid: number;
  readonly bootstrap: string;
  /** Stops the broker and removes its data dir; returns the broker's output on failure paths. */
  stop(): Promise<void>;
  output(): string;
}

const OUTPUT_CHARS_MAX = 1024 * 1024;

export async function startBroker(overrides: Readonly<Record<string, string>>, nodeArgs: readonly string[] = []): Promise<Broker> {
  const dataDir = tempDir('sluice-bench-');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await spawnBroker(port, dataDir, overrides, nodeArgs);
    } catch (err) {
      // The port may be taken between choosing and binding: another try on another port.
      if (attempt >= 4 || !/EADDRINUSE/.test((err as Error).message)) {
        dataDir.remove();
        throw err;
      }
    }
  }
}

function spawnBroker(port: number, dataDir: { path: string; remove(): void }, overrides: Readonly<Record<string, string>>,
  nodeArgs: readonly string[]): Promise<Broker> {
  const args = [...nodeArgs, join(REPO_ROOT, 'kernel/dist/cli/main.js'), 'start',
    '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir.path}`];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${v}`);
  const child = track(spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  const broker: Broker = {
    pid: child.pid!,
    bootstrap: `127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      await stopProcess(child);
      dataDir.remove();
    },
  };
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`broker did not start within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.length > OUTPUT_CHARS_MAX) output = output.slice(-OUTPUT_CHARS_MAX / 2);
      if (/\bSluice started\b/.test(output)) {
        clearTimeout(timer);
        ok(broker);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`broker exited with ${code} before it started:\n${output}`));
    });
  });
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string[];
  readonly stderr: string[];
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Kills the process after this long. */
  readonly timeoutMs: number;
  /** Called for every line, as it arrives, with the child's pid. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr', pid: number) => void;
  /** Copies stderr lines to this process's stderr, indented. */
  readonly echoStderr?: boolean;
}

export function run(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const child = track(spawn(command, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const stdout: string[] = [];
  const stderr: string[] = [];
  const pid = child.pid ?? -1;
  const lines = (stream: 'stdout' | 'stderr', into: string[]): Promise<void> => new Promise((done) => {
    const rl = createInterface({ input: child[stream]! });
    rl.on('line', (line) => {
      into.push(line);
      if (stream === 'stderr' && opts.echoStderr) process.stderr.write(`#   ${line}\n`);
      opts.onLine?.(line, stream, pid);
    });
    rl.once('close', () => done());
  });
  const timer = setTimeout(() => {
    process.stderr.write(`# ${command} ${args.join(' ')}: killed after ${opts.timeoutMs} ms\n`);
    void stopProcess(child, 2000);
  }, opts.timeoutMs);
  const exited = new Promise<number | null>((ok) => {
    child.once('error', (err) => {
      stderr.push(String(err));
      ok(-1);
    });
    child.once('exit', (code, signal) => ok(code ?? (signal !== null ? -1 : null)));
  });
  return Promise.all([exited, lines('stdout', stdout), lines('stderr', stderr)]).then(([code]) => {
    clearTimeout(timer);
    return { code, stdout, stderr };
  });
}

/** `name value` lines, the format of kafka-client-load.py and of bench/py. */
export function nameValues(lines: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of lines) {
    const m = /^([a-z0-9_]+) (-?[0-9.]+|nan)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
