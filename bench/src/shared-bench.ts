/**
 * ../shared/bench (limits.sh, peers.sh, kafka-client-load.py) run from a temporary copy:
 * the shared folder is read-only in CI, and the scripts write their scratch dirs, raw
 * files and node_modules next to themselves.
 */
import { chmodSync, cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT, run, tempDir } from './processes.js';
import type { Summary } from './stats.js';

export function sharedBenchDir(): string {
  return resolve(process.env['SHARED_BENCH_DIR'] ?? join(REPO_ROOT, '../shared/bench'));
}

function makeWritable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.mode | 0o200 | (st.isDirectory() ? 0o100 : 0));
  if (st.isDirectory()) for (const e of readdirSync(path)) makeWritable(join(path, e));
}

export interface SharedCopy {
  readonly dir: string;
  remove(): void;
}

export function copySharedBench(): SharedCopy {
  const src = sharedBenchDir();
  if (!existsSync(join(src, 'limits.sh'))) throw new Error(`no ${src}/limits.sh (set SHARED_BENCH_DIR)`);
  const root = tempDir('sluice-shared-bench-');
  const dir = join(root.path, 'bench');
  // Scratch dirs of an earlier run in the source would be copied for nothing.
  cpSync(src, dir, { recursive: true, filter: (p) => !/\/\.(tmp|raw)\.[^/]*$/.test(p) });
  makeWritable(dir);
  return { dir, remove: () => root.remove() };
}

/** Runs limits.sh or peers.sh from the copy and parses its `name median min=.. max=.. n=..` lines. */
export async function runSharedScript(copy: SharedCopy, script: string, env: Readonly<Record<string, string>>,
  timeoutMs: number): Promise<{ figures: Map<string, Summary>; context: string[] }> {
  const result = await run('bash', [join(copy.dir, script)], { env, cwd: copy.dir, timeoutMs, echoStderr: true });
  const figures = new Map<string, Summary>();
  const context: string[] = [];
  for (const line of result.stdout) {
    const m = /^([a-z0-9_]+) (-?[0-9.]+) min=(-?[0-9.]+) max=(-?[0-9.]+) n=(\d+)$/.exec(line.trim());
    if (m) figures.set(m[1]!, { median: Number(m[2]), min: Number(m[3]), max: Number(m[4]), n: Number(m[5]) });
    else if (line.startsWith('#')) context.push(line);
  }
  if (result.code !== 0) {
    process.stderr.write(`# ${script} exited with ${result.code}; its last stderr lines:\n`);
    for (const line of result.stderr.slice(-15)) process.stderr.write(`#   ${line}\n`);
  }
  return { figures, context };
}
