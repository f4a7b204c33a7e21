/** Runs the built `sluice` command against a broker, as a user would, for the CLI tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './broker-process.js';

const MAIN = join(REPO_ROOT, 'kernel/dist/cli/main.js');
const RUN_TIMEOUT_MS = 30_000;

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `sluice <args> --bootstrap-server <bootstrap>` (null: the args say where to connect) with
 * `input` on stdin; killed after RUN_TIMEOUT_MS.
 */
export function runSluice(bootstrap: string | null, args: readonly string[], input = ''): Promise<CliRun> {
  const child = spawn(process.execPath, [MAIN, ...args, ...(bootstrap === null ? [] : ['--bootstrap-server', bootstrap])], {
    cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // A command that fails before reading stdin closes it: that is for the test to judge, not a crash.
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not exit within ${RUN_TIMEOUT_MS} ms:\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
