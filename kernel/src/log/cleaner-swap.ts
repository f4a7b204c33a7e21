/**
 * The files of a compaction commit, and their recovery at load. The cleaner replaces a
 * run of sealed segments [s1..sk] (s1 at offset `base`, the run ending before `end`, the
 * next segment's base) with one cleaned segment at `base`. Names and steps:
 *
 *   1. write  <base>.log.cleaned  <base>.index.cleaned  <base>.timeindex.cleaned, fsync
 *   2. rename the indexes to  <base>.index.swap  <base>.timeindex.swap
 *   3. rename the log to  <base>.<end>.log.swap, fsync the directory   <- commit point
 *   4. delete s2..sk (each file renamed to .deleted, then unlinked)
 *   5. rename the index swaps, then the log swap, over s1's names; fsync the directory
 *
 * The log swap carries `end` in its name so that recovery knows exactly which segments
 * it replaces without reading it. At load (`recoverInterruptedCleaning`):
 * - `.cleaned` files: the commit never happened; deleted, the old segments stand.
 * - `<base>.<end>.log.swap`: the commit happened; steps 4 and 5 are redone: every segment
 *   file whose base offset lies in (base, end) is deleted, index swaps at `base` are
 *   renamed over s1's indexes (a missing one was already renamed in step 5), then the log.
 * - an index swap without a log swap: the crash came between steps 2 and 3; deleted, and
 *   s1's own indexes, untouched until step 5, still match s1.
 * So after any crash the directory holds either all of s1..sk or the cleaned segment,
 * never both in part.
 */
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirSync } from './checkpoint-file.js';
import { segmentFileName } from './segment.js';

export const SEGMENT_SUFFIXES = ['.log', '.index', '.timeindex'] as const;
const INDEX_SUFFIXES = ['.index', '.timeindex'] as const;

export function cleanedPath(dir: string, base: number, suffix: string): string {
  return join(dir, segmentFileName(base, suffix) + '.cleaned');
}

function indexSwapPath(dir: string, base: number, suffix: string): string {
  return join(dir, segmentFileName(base, suffix) + '.swap');
}

function logSwapPath(dir: string, base: number, end: number): string {
  return join(dir, `${segmentFileName(base, '')}.${segmentFileName(end, '.log')}.swap`);
}

/** Steps 2 and 3: after this returns, the replacement survives a crash. */
export function commitCleaned(dir: string, base: number, end: number): void {
  for (const suffix of INDEX_SUFFIXES) renameSync(cleanedPath(dir, base, suffix), indexSwapPath(dir, base, suffix));
  renameSync(cleanedPath(dir, base, '.log'), logSwapPath(dir, base, end));
  fsyncDirSync(dir);
}

/** Step 5; the caller has deleted s2..sk (step 4). */
export function installSwap(dir: string, base: number, end: number): void {
  for (const suffix of INDEX_SUFFIXES) {
    try {
      renameSync(indexSwapPath(dir, base, suffix), join(dir, segmentFileName(base, suffix)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  renameSync(logSwapPath(dir, base, end), join(dir, segmentFileName(base, '.log')));
  fsyncDirSync(dir);
}

export function discardCleaned(dir: string, base: number): void {
  for (const suffix of SEGMENT_SUFFIXES) rmSync(cleanedPath(dir, base, suffix), { force: true });
}

/** Completes committed replacements and removes uncommitted ones; see the module comment. */
export function recoverInterruptedCleaning(dir: string): void {
  const names = readdirSync(dir);
  const swaps: Array<{ base: number; end: number }> = [];
  for (const name of names) {
    if (name.endsWith('.cleaned')) {
      rmSync(join(dir, name), { force: true });
      continue;
    }
    const m = /^(\d{20})\.(\d{20})\.log\.swap$/.exec(name);
    if (m !== null) swaps.push({ base: Number(m[1]), end: Number(m[2]) });
  }
  if (swaps.length === 0 && !names.some((n) => n.endsWith('.swap'))) return;
  for (const { base, end } of swaps) {
    for (const name of names) {
      const seg = /^(\d{20})\.(log|index|timeindex)$/.exec(name);
      if (seg === null) continue;
      const other = Number(seg[1]);
      if (other > base && other < end) rmSync(join(dir, name), { force: true });
    }
    installSwap(dir, base, end);
  }
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.swap')) rmSync(join(dir, name), { force: true });
  }
  fsyncDirSync(dir);
}
