/**
 * A real broker process for integration tests: `node kernel/dist/cli/main.js start` on a
 * loopback port with its own data dir, as an operator would run it (build first: `tsc -b`).
 *
 * The port is chosen up front rather than with port 0 because Metadata advertises the
 * configured listener port to clients; a port taken between choosing and binding makes
 * the broker exit with EADDRINUSE, and the start is retried on another one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = join(REPO_ROOT, 'kernel/dist/cli/main.js');
const OUTPUT_CHARS_MAX = 4 * 1024 * 1024;

export interface BrokerOptions {
  /** Broker properties passed as `--override key=value`, after listeners and log.dirs. */
  readonly overrides?: Readonly<Record<string, string>>;
  /** Reuse a data dir (restart); a fresh temporary one otherwise. */
  readonly dataDir?: string;
  /** Reuse a port (restart, so clients keep their bootstrap address); a free one otherwise. */
  readonly port?: number;
  /** Extra environment, e.g. SLUICE_LOG_LEVEL=debug. */
  readonly env?: Readonly<Record<string, string>>;
  /** Bound on the wait for the `started` line. */
  readonly startTimeoutMs?: number;
}

export interface BrokerProcess {
  readonly port: number;
  readonly dataDir: string;
  /** `127.0.0.1:<port>`, for clients' bootstrap servers. */
  readonly bootstrap: string;
  readonly pid: number;
  /** Everything the broker wrote to stdout and stderr so far: print it when a test fails. */
  output(): string;
  /** SIGTERM, then resolves with the exit code once the process has exited. */
  stop(): Promise<number | null>;
  /** Sends `signal`, then resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  /**
   * After stop or kill: deletes the data dir if startBroker made it (SLUICE_IT_KEEP_DATA=1
   * keeps it to look at). Kept otherwise, so a restart can reuse it.
   */
  removeDataDir(): void;
}

const running = new Set<ChildProcess>();
/** Data dirs this module made; removed when the test process exits (SLUICE_IT_KEEP_DATA=1 keeps them to look at). */
const madeDirs = new Set<string>();
// A test runner that dies must not leave brokers holding ports and data dirs.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of madeDirs) removeMadeDir(dir);
});

function removeMadeDir(dir: string): void {
  if (!madeDirs.has(dir) || process.env['SLUICE_IT_KEEP_DATA'] === '1') return;
  madeDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
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

export async function startBroker(opts: BrokerOptions = {}): Promise<BrokerProcess> {
  let dataDir = opts.dataDir;
  if (dataDir === undefined) {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-it-'));
    madeDirs.add(dataDir);
  }
  const tries = opts.port === undefined ? 5 : 1;
  let lastError: Error | undefined;
  for (let i = 0; i < tries; i++) {
    const port = opts.port ?? await freePort();
    try {
      return await spawnBroker(port, dataDir, opts);
    } catch (err) {
      lastError = err as Error;
      if (!/EADDRINUSE/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

function spawnBroker(port: number, dataDir: string, opts: BrokerOptions): Promise<BrokerProcess> {
  const args = [MAIN, 'start', '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`];
  for (const [k, v] of Object.entries(opts.overrides ?? {})) args.push('--override', `${k}=${v}`);
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const exited = new Promise<number | null>((ok) => {
    child.once('exit', (code) => {
      running.delete(child);
      ok(code);
    });
  });
  const signalAndWait = (signal: NodeJS.Signals): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  const broker: BrokerProcess = {
    port, dataDir, bootstrap: `127.0.0.1:${port}`, pid: child.pid!,
    output: () => output,
    stop: () => signalAndWait('SIGTERM'),
    kill: signalAndWait,
    removeDataDir: () => {
      if (child.exitCode === null && child.signalCode === null) throw new Error('removeDataDir while the broker runs');
      removeMadeDir(dataDir);
    },
  };
  return new Promise((ok, fail) => {
    const timeoutMs = opts.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`broker did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      // Debug logging over a long test must not grow the runner's memory without bound.
      if (output.length > OUTPUT_CHARS_MAX) output = output.slice(-OUTPUT_CHARS_MAX / 2);
      if (/\bSluice started\b/.test(output)) {
        clearTimeout(timer);
        ok(broker);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`broker exited with ${code} before it started:\n${output}`));
    });
  });
}

/** The lines a broker logged at `level` (ERROR, WARN, ...): an afterAll can assert there are none. */
export function logLines(output: string, level: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG'): string[] {
  return output.split('\n').filter((line) => line.includes(`] ${level} `));
}
