/**
 * Small text checkpoint files, in Kafka's layout so operators recognise them:
 *
 *   <version>\n<entry count>\n<entry>\n...
 *
 * (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`,
 * `leader-epoch-checkpoint`). Written atomically: temp file, fsync, rename, fsync of the
 * directory; a reader therefore sees the old file or the new one, never a mix. A file that
 * does not parse is treated as absent, which only makes recovery scan more.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFully } from './index-file.js';

const CHECKPOINT_VERSION = 0;

export function atomicWriteFileSync(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFully(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDirSync(dirname(path));
}

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeCheckpoint(path: string, entries: readonly string[]): void {
  atomicWriteFileSync(path, `${CHECKPOINT_VERSION}\n${entries.length}\n${entries.map((e) => e + '\n').join('')}`);
}

/** The entry lines, or undefined when the file is missing or malformed. */
export function readCheckpoint(path: string): string[] | undefined {
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[0] !== String(CHECKPOINT_VERSION)) return undefined;
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || lines.length < count + 2) return undefined;
  const entries = lines.slice(2, 2 + count);
  return entries.every((e) => e.length > 0) ? entries : undefined;
}
