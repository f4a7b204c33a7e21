/**
 * The machine's ceilings for the log bench: what plain `fs` calls reach with the same
 * buffers, sizes and sync policy as the log, measured in the same process and run so a
 * ratio against them cancels out this VM's minute-to-minute drift.
 */
import { closeSync, fdatasyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { nowNs, secondsSince } from './stats.js';

export interface WriteResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly syncs: number;
  /** fdatasync durations in µs, unsorted. */
  readonly syncLatencyUs: number[];
}

export interface ReadResult {
  readonly bytes: number;
  readonly seconds: number;
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/**
 * Untimed: writes `bytes` to a scratch file and deletes it, so that the timed run which
 * follows gets page-cache memory the guest freed a moment ago. On this VM memory idle for
 * more than ~2 s goes back to the host and writes into it run ~8x slower
 * (../shared/research/perf-anchors.md, "cold / warm").
 */
export function prewarm(path: string, batches: readonly Buffer[], bytes: number, maxSeconds: number): void {
  const fd = openSync(path, 'w');
  const t0 = nowNs();
  try {
    for (let written = 0, i = 0; written < bytes && secondsSince(t0) < maxSeconds; i++) {
      const b = batches[i % batches.length]!;
      writeAll(fd, b);
      written += b.length;
    }
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}

/**
 * Sequential `writeSync` of the given buffers to a fresh file until `bytes` or
 * `maxSeconds`. With `syncEveryBytes` > 0, an `fdatasyncSync` follows every that many
 * bytes and one more ends the run, all inside the timed interval.
 */
export function rawAppend(path: string, batches: readonly Buffer[], bytes: number, maxSeconds: number,
  syncEveryBytes: number): WriteResult {
  const fd = openSync(path, 'w');
  const syncLatencyUs: number[] = [];
  let written = 0;
  let sinceSync = 0;
  let seconds: number;
  try {
    const t0 = nowNs();
    for (let i = 0; written < bytes && secondsSince(t0) < maxSeconds; i++) {
      const b = batches[i % batches.length]!;
      writeAll(fd, b);
      written += b.length;
      sinceSync += b.length;
      if (syncEveryBytes > 0 && sinceSync >= syncEveryBytes) {
        const s0 = nowNs();
        fdatasyncSync(fd);
        syncLatencyUs.push(Number(nowNs() - s0) / 1e3);
        sinceSync = 0;
      }
    }
    if (syncEveryBytes > 0 && sinceSync > 0) {
      const s0 = nowNs();
      fdatasyncSync(fd);
      syncLatencyUs.push(Number(nowNs() - s0) / 1e3);
    }
    seconds = secondsSince(t0);
  } finally {
    closeSync(fd);
  }
  return { bytes: written, seconds, syncs: syncLatencyUs.length, syncLatencyUs };
}

/**
 * Whole-file sequential `readSync` passes, until `minSeconds` or `maxPasses`. Each read
 * goes into `buffer()`: one reused buffer for the ceiling, or a fresh one per read to
 * price what handing every reader its own buffer costs.
 */
export function rawRead(path: string, buffer: () => Buffer, minSeconds: number, maxPasses: number): ReadResult {
  const fd = openSync(path, 'r');
  let bytes = 0;
  let seconds = 0;
  try {
    const t0 = nowNs();
    for (let pass = 0; pass < maxPasses && (pass === 0 || seconds < minSeconds); pass++) {
      for (let pos = 0; ;) {
        const buf = buffer();
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n === 0) break;
        pos += n;
        bytes += n;
      }
      seconds = secondsSince(t0);
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, seconds };
}
