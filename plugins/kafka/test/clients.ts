/**
 * Runs the real client programs the integration tests drive: kcat and the Python scripts
 * under clients/. Each run is bounded by a timeout that kills the client, so a broker that
 * stops answering fails a test rather than hanging the suite.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLIENTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'clients');
/** Debian's interpreter: python3-confluent-kafka and python3-kafka are installed for it, not for a pyenv one. */
export const PYTHON = '/usr/bin/python3';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program, feeding `input` to its stdin; never rejects on a non-zero exit. */
export function run(file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) => resolve({
      code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
    }));
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Runs `clients/<script> COMMAND BOOTSTRAP` with `args` as JSON on its stdin (argv is too
 * small for large messages) and parses its JSON answer; throws with its stderr on failure.
 */
export async function python<T = unknown>(script: string, command: string, bootstrap: string, args: object, timeoutMs = 90_000): Promise<T> {
  const result = await run(PYTHON, [join(CLIENTS_DIR, script), command, bootstrap], { input: JSON.stringify(args), timeoutMs });
  if (result.code !== 0) {
    throw new Error(`${script} ${command} exited with ${result.code}:\n${result.stderr.slice(-4000)}`);
  }
  return JSON.parse(result.stdout) as T;
}
