/**
 * `npm run bench:log`: the kernel's PartitionLog against this machine's ceiling for the
 * same work, both measured in this run.
 *
 * Method
 * - Workload: RecordBatch v2 batches of exactly 64 KiB, 64 records of ~1 KiB (random
 *   values, no key, uncompressed), 16 distinct batches built once and reused. The log
 *   rewrites base offset and leader epoch in place, which the CRC does not cover, so
 *   reuse is valid. The ceilings write the very same buffers.
 * - Volume per timed run: BENCH_MIB (512 MiB) or 8 s, whichever comes first.
 * - Pairing: each case runs REPS (3) times; each repetition runs the log case and its
 *   ceiling back to back, in alternating order, and the ratio is taken within the pair.
 *   Printed: median, min, max of each figure and the median of the paired ratios. The
 *   append cases run one more pair first and discard it: the first timed append of a
 *   process came out 2-5x slow in 2 of 4 trial runs.
 * - Warm memory: on this VM, page-cache writes into memory idle for > ~2 s run ~8x
 *   slower than into memory freed a moment ago (../shared/research/perf-anchors.md).
 *   Every timed append run (log or ceiling) is preceded by an untimed write and delete
 *   of a same-size scratch file, so both sides get warm memory. The figures are
 *   therefore the warm ones; a freshly started broker on cold memory sees less.
 * - Cases:
 *   1. append, no sync: write.caching=true, flush.messages / flush.ms at their defaults
 *      (never), acks 'leader', one append awaited at a time. Ceiling: `writeSync` of
 *      the same buffers to a fresh file, no sync.
 *   2. append, group-commit fdatasync: write.caching=false, acks 'durable', with
 *      BENCH_INFLIGHT (16) appends outstanding, like a producer's in-flight window.
 *      Ceiling: `writeSync` with one `fdatasyncSync` per BENCH_INFLIGHT x 64 KiB, i.e.
 *      the coalescing of a perfect group commit over that window. It is deliberately not
 *      matched to the coalescing the log achieved, because that would lower the bar
 *      whenever the log coalesces badly; a matched ceiling is printed for information.
 *   3. sequential read, warm page cache: PartitionLog.read from offset 0 with maxBytes
 *      1 MiB, advancing, whole log per pass. Ceiling: `readSync` of the same segment
 *      file into one reused 1 MiB buffer shifted by 64 bytes.
 *   Read buffers (READ_BUFFER_SHIFT_BYTES in segment.ts): the same file read into a
 *   reused `Buffer.allocUnsafe(1 MiB)` (page-aligned in practice) vs a reused
 *   `allocUnsafe(1 MiB + 64).subarray(64)`, and, for information, a fresh shifted buffer
 *   per read as Segment.read allocates.
 *
 * Knobs (environment): REPS, BENCH_MIB, BENCH_INFLIGHT, BENCH_MAX_SECONDS, and ONLY, a comma
 * list of cases to run (nosync, durable, read; all by default).
 * Exit status is 0 whatever the ratios: PASS / BELOW only compare with the aims.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBatch, PartitionLog, systemClock, toLogConfig } from '@sluice/kernel';
import { asOffset, type Logger } from '@sluice/sdk';
import { prewarm, rawAppend, rawRead } from './ceiling.js';
import { fmt, fmtSummary, MIB, mibPerS, nowNs, percentile, secondsSince, summarize, type Summary } from './stats.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

const REPS = envInt('REPS', 3);
const TOTAL_BYTES = envInt('BENCH_MIB', 512) * MIB;
const INFLIGHT = envInt('BENCH_INFLIGHT', 16);
const MAX_SECONDS = envInt('BENCH_MAX_SECONDS', 8);
const BATCH_BYTES = 64 * 1024;
const RECORDS_PER_BATCH = 64;
const DISTINCT_BATCHES = 16;
const READ_MAX_BYTES = MIB;
/** Mirrors READ_BUFFER_SHIFT_BYTES in kernel/src/log/segment.ts; the figure this bench checks. */
const READ_SHIFT = 64;
/** Read passes are short at page-cache speed: repeat whole-file passes for at least this long. */
const READ_MIN_SECONDS = 0.5;
const READ_MAX_PASSES = 64;

const ONLY = new Set((process.env['ONLY'] ?? 'nosync,durable,read').split(',').map((c) => c.trim()));

const AIM = { appendNoSync: 0.8, appendDurable: 0.5, read: 0.8 } as const;

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * 61 values of 1014 bytes and 3 of 1015 make each batch exactly 64 KiB: a record is
 * value + 9 bytes of framing here, plus 61 bytes of batch header. Exact 64 KiB batches
 * keep 1 MiB reads whole (16 batches each) and the ceiling's write size identical.
 */
function makeBatches(): Buffer[] {
  const batches: Buffer[] = [];
  const ts = Date.now();
  for (let b = 0; b < DISTINCT_BATCHES; b++) {
    const records = [];
    for (let r = 0; r < RECORDS_PER_BATCH; r++) {
      records.push({ key: null, value: randomFillSync(Buffer.allocUnsafe(r < 3 ? 1015 : 1014)), timestampMs: ts });
    }
    const batch = buildBatch(records);
    if (batch.length !== BATCH_BYTES) throw new Error(`batch is ${batch.length} bytes, expected ${BATCH_BYTES}`);
    batches.push(batch);
  }
  return batches;
}

function openLog(dir: string, overrides: Record<string, string>): PartitionLog {
  return PartitionLog.open({
    dir, topic: 'bench', partition: 0, config: toLogConfig({}, overrides), clock: systemClock, log: silentLogger,
    recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false,
  });
}

interface AppendRun {
  readonly bytes: number;
  readonly seconds: number;
  readonly syncs: number;
  readonly latencyUs: number[];
}

async function logAppendNoSync(dir: string, batches: readonly Buffer[]): Promise<AppendRun> {
  const log = openLog(dir, { 'write.caching': 'true' });
  try {
    let bytes = 0;
    const t0 = nowNs();
    for (let i = 0; bytes < TOTAL_BYTES && secondsSince(t0) < MAX_SECONDS; i++) {
      const b = batches[i % batches.length]!;
      await log.append(b, 'leader');
      bytes += b.length;
    }
    return { bytes, seconds: secondsSince(t0), syncs: 0, latencyUs: [] };
  } finally {
    // Deleting skips close()'s final fdatasync of the whole log, which is not part of the case.
    log.deleteAll();
  }
}

/**
 * INFLIGHT loops, each awaiting its own durable append: a window of INFLIGHT appends
 * outstanding. Every sync round resolves at least one waiter, and all waiters of a round
 * resume before the next round can complete, so counting changes of flushedOffset seen
 * by resuming appenders counts the fdatasync rounds.
 */
async function logAppendDurable(dir: string, batches: readonly Buffer[]): Promise<AppendRun> {
  const log = openLog(dir, { 'write.caching': 'false' });
  try {
    let bytes = 0;
    let next = 0;
    let syncs = 0;
    let lastFlushed = Number(log.flushedOffset);
    const latencyUs: number[] = [];
    const t0 = nowNs();
    const appender = async (): Promise<void> => {
      while (bytes < TOTAL_BYTES && secondsSince(t0) < MAX_SECONDS) {
        const b = batches[next++ % batches.length]!;
        bytes += b.length;
        const s0 = nowNs();
        await log.append(b, 'durable');
        latencyUs.push(Number(nowNs() - s0) / 1e3);
        const flushed = Number(log.flushedOffset);
        if (flushed !== lastFlushed) {
          syncs++;
          lastFlushed = flushed;
        }
      }
    };
    await Promise.all(Array.from({ length: INFLIGHT }, appender));
    return { bytes, seconds: secondsSince(t0), syncs, latencyUs };
  } finally {
    log.deleteAll();
  }
}

/** Whole-log passes of PartitionLog.read from offset 0, until READ_MIN_SECONDS. */
function logReadPasses(log: PartitionLog): { bytes: number; seconds: number } {
  const end = Number(log.highWatermark);
  let bytes = 0;
  let seconds = 0;
  const t0 = nowNs();
  for (let pass = 0; pass < READ_MAX_PASSES && seconds < READ_MIN_SECONDS; pass++) {
    let offset = 0;
    while (offset < end) {
      const { records } = log.read(asOffset(offset), READ_MAX_BYTES, 'read_uncommitted');
      if (records.length === 0) throw new Error(`empty read at offset ${offset} below high watermark ${end}`);
      offset = nextOffsetAfter(Buffer.from(records.buffer, records.byteOffset, records.byteLength));
      bytes += records.length;
    }
    seconds = secondsSince(t0);
  }
  return { bytes, seconds };
}

/** One past the last offset of the last batch in `buf` (RecordBatch v2 header fields). */
function nextOffsetAfter(buf: Buffer): number {
  let pos = 0;
  let next = -1;
  while (pos + 27 <= buf.length) {
    const base = Number(buf.readBigInt64BE(pos));
    next = base + buf.readInt32BE(pos + 23) + 1;
    pos += 12 + buf.readInt32BE(pos + 8);
  }
  return next;
}

// --- reporting ---------------------------------------------------------------------

interface Row {
  readonly name: string;
  readonly log: Summary;
  readonly ceiling: Summary;
  readonly ratio: Summary;
  readonly aim: number;
}

const rows: Row[] = [];

function report(name: string, logMibs: number[], ceilingMibs: number[], aim: number): void {
  const ratios = logMibs.map((v, i) => v / ceilingMibs[i]!);
  const row = { name, log: summarize(logMibs), ceiling: summarize(ceilingMibs), ratio: summarize(ratios), aim };
  rows.push(row);
  console.log(`${name}_mib_per_s ${fmtSummary(row.log)}  ceiling=${fmt(row.ceiling.median)} ratio=${fmt(row.ratio.median, 2)} ` +
    `${verdict(row)} (aim >= ${aim})`);
}

function verdict(row: Row): string {
  return row.ratio.median >= row.aim ? 'PASS' : 'BELOW';
}

function line(name: string, values: number[], digits = 0): void {
  console.log(`${name} ${fmtSummary(summarize(values), digits)}`);
}

/** Runs the two sides of a pair, log first on even repetitions and ceiling first on odd ones. */
async function paired<A, B>(rep: number, logSide: () => Promise<A> | A, ceilingSide: () => B): Promise<[A, B]> {
  if (rep % 2 === 0) {
    const a = await logSide();
    return [a, ceilingSide()];
  }
  const b = ceilingSide();
  return [await logSide(), b];
}

// --- main --------------------------------------------------------------------------

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'sluice-log-bench-'));
  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const started = nowNs();
  try {
    const batches = makeBatches();
    const warmPath = join(root, 'prewarm.bin');
    const rawPath = join(root, 'raw.bin');
    const warm = (): void => prewarm(warmPath, batches, TOTAL_BYTES, MAX_SECONDS);
    console.log(`# sluice bench:log  node ${process.version}  ${new Date().toISOString()}`);
    console.log(`# batches ${BATCH_BYTES} B (${RECORDS_PER_BATCH} x ~1 KiB records), ${TOTAL_BYTES / MIB} MiB or ` +
      `${MAX_SECONDS} s per run, reps=${REPS}, warm memory (untimed same-size write+delete before each append run)`);
    console.log(`# load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')} (2 vCPU: above ~1 the figures are contended)`);

    // 1. append without sync
    if (ONLY.has('nosync')) {
      const logV: number[] = [];
      const ceilV: number[] = [];
      for (let rep = -1; rep < REPS; rep++) {
        const dir = join(root, `nosync-${rep}`);
        const [l, c] = await paired(rep,
          async () => { warm(); return logAppendNoSync(dir, batches); },
          () => { warm(); return rawAppend(rawPath, batches, TOTAL_BYTES, MAX_SECONDS, 0); });
        rmSync(rawPath, { force: true });
        if (rep < 0) continue;
        logV.push(mibPerS(l.bytes, l.seconds));
        ceilV.push(mibPerS(c.bytes, c.seconds));
        console.error(`# rep ${rep} append nosync: log ${fmt(logV[rep]!)} ceiling ${fmt(ceilV[rep]!)} MiB/s`);
      }
      line('ceiling_write_nosync_mib_per_s', ceilV);
      report('log_append_nosync', logV, ceilV, AIM.appendNoSync);
    }

    // 2. append with group-commit fdatasync
    if (ONLY.has('durable')) {
      const syncEvery = INFLIGHT * BATCH_BYTES;
      const logV: number[] = [];
      const ceilV: number[] = [];
      const syncs: number[] = [];
      const kibPerSync: number[] = [];
      const p50: number[] = [];
      const p99: number[] = [];
      const ceilSyncP50: number[] = [];
      const ceilSyncP99: number[] = [];
      for (let rep = -1; rep < REPS; rep++) {
        const dir = join(root, `durable-${rep}`);
        const [l, c] = await paired(rep,
          async () => { warm(); return logAppendDurable(dir, batches); },
          () => { warm(); return rawAppend(rawPath, batches, TOTAL_BYTES, MAX_SECONDS, syncEvery); });
        rmSync(rawPath, { force: true });
        if (rep < 0) continue;
        logV.push(mibPerS(l.bytes, l.seconds));
        ceilV.push(mibPerS(c.bytes, c.seconds));
        syncs.push(l.syncs);
        kibPerSync.push(l.bytes / 1024 / Math.max(1, l.syncs));
        const lat = l.latencyUs.sort((a, b) => a - b);
        p50.push(percentile(lat, 0.5));
        p99.push(percentile(lat, 0.99));
        const cl = c.syncLatencyUs.sort((a, b) => a - b);
        ceilSyncP50.push(percentile(cl, 0.5));
        ceilSyncP99.push(percentile(cl, 0.99));
        console.error(`# rep ${rep} append durable: log ${fmt(logV[rep]!)} MiB/s with ${l.syncs} syncs ` +
          `(${fmt(kibPerSync[rep]!)} KiB each), ceiling ${fmt(ceilV[rep]!)} MiB/s with ${c.syncs} syncs`);
      }
      console.log(`# group commit: ${INFLIGHT} durable appends in flight; ceiling fdatasyncs every ${INFLIGHT} x 64 KiB = ` +
        `${syncEvery / 1024} KiB, the coalescing a perfect group commit gets from that window`);
      line(`ceiling_write_sync_${syncEvery / 1024}k_mib_per_s`, ceilV);
      line(`ceiling_write_sync_${syncEvery / 1024}k_fdatasync_p50_us`, ceilSyncP50);
      line(`ceiling_write_sync_${syncEvery / 1024}k_fdatasync_p99_us`, ceilSyncP99);
      report('log_append_durable', logV, ceilV, AIM.appendDurable);
      line('log_append_durable_fdatasyncs', syncs);
      line('log_append_durable_kib_per_fdatasync', kibPerSync);
      line('log_append_durable_latency_p50_us', p50);
      line('log_append_durable_latency_p99_us', p99);

      // For information: a raw ceiling that syncs as often as the log actually did.
      const matched = Math.max(1, Math.round(summarize(kibPerSync).median / 64)) * BATCH_BYTES;
      const matchedV: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        warm();
        const c = rawAppend(rawPath, batches, TOTAL_BYTES, MAX_SECONDS, matched);
        rmSync(rawPath, { force: true });
        matchedV.push(mibPerS(c.bytes, c.seconds));
      }
      line(`ceiling_write_sync_matched_${matched / 1024}k_mib_per_s`, matchedV);
    }

    // 3. sequential read (warm page cache) and the read-buffer alignment figures
    if (ONLY.has('read')) {
      const dir = join(root, 'read');
      const log = openLog(dir, { 'write.caching': 'true' });
      warm();
      for (let i = 0, bytes = 0; bytes < TOTAL_BYTES; i++) {
        const b = batches[i % batches.length]!;
        await log.append(b, 'leader');
        bytes += b.length;
      }
      const segmentPath = join(dir, '0'.padStart(20, '0') + '.log');
      const shifted = Buffer.allocUnsafe(READ_MAX_BYTES + READ_SHIFT).subarray(READ_SHIFT);
      const aligned = Buffer.allocUnsafe(READ_MAX_BYTES);
      const freshShifted = (): Buffer => Buffer.allocUnsafe(READ_MAX_BYTES + READ_SHIFT).subarray(READ_SHIFT);
      const logV: number[] = [];
      const shiftedV: number[] = [];
      const alignedV: number[] = [];
      const freshV: number[] = [];
      // Untimed pass so the first timed side does not pay for anything the others do not.
      rawRead(segmentPath, () => shifted, 0, 1);
      for (let rep = 0; rep < REPS; rep++) {
        const sides = [
          (): void => { const r = logReadPasses(log); logV.push(mibPerS(r.bytes, r.seconds)); },
          (): void => { const r = rawRead(segmentPath, () => shifted, READ_MIN_SECONDS, READ_MAX_PASSES); shiftedV.push(mibPerS(r.bytes, r.seconds)); },
          (): void => { const r = rawRead(segmentPath, () => aligned, READ_MIN_SECONDS, READ_MAX_PASSES); alignedV.push(mibPerS(r.bytes, r.seconds)); },
          (): void => { const r = rawRead(segmentPath, freshShifted, READ_MIN_SECONDS, READ_MAX_PASSES); freshV.push(mibPerS(r.bytes, r.seconds)); },
        ];
        // Rotate the order so no side always runs first or last.
        for (let k = 0; k < sides.length; k++) sides[(k + rep) % sides.length]!();
        console.error(`# rep ${rep} read: log ${fmt(logV[rep]!)} shifted ${fmt(shiftedV[rep]!)} aligned ${fmt(alignedV[rep]!)} ` +
          `fresh ${fmt(freshV[rep]!)} MiB/s`);
      }
      log.deleteAll();
      line('ceiling_read_1m_shift64_mib_per_s', shiftedV);
      report('log_read_seq', logV, shiftedV, AIM.read);
      line('read_buffer_1m_page_aligned_mib_per_s', alignedV);
      line(`read_buffer_1m_shift${READ_SHIFT}_mib_per_s`, shiftedV);
      line(`read_buffer_1m_fresh_shift${READ_SHIFT}_mib_per_s`, freshV);
      const gain = shiftedV.map((v, i) => v / alignedV[i]!);
      console.log(`read_buffer_shift${READ_SHIFT}_over_aligned ${fmtSummary(summarize(gain), 2)}  ` +
        `(> 1: the shift in segment.ts pays on this machine)`);
    }

    console.log('');
    console.log('| case | sluice MiB/s (median, min-max) | ceiling MiB/s | ratio | aim | |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      console.log(`| ${r.name} | ${fmt(r.log.median)} (${fmt(r.log.min)}-${fmt(r.log.max)}) | ${fmt(r.ceiling.median)} | ` +
        `${fmt(r.ratio.median, 2)} | >= ${r.aim} | ${verdict(r)} |`);
    }
    console.log(`# total ${fmt(secondsSince(started), 1)} s`);
  } finally {
    cleanup();
  }
}

await main();
