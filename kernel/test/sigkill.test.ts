/**
 * A process that acknowledged durable appends is SIGKILLed at a random point; everything
 * it acknowledged must be in the log afterwards, in order, at its offsets, byte-identical.
 * Several rounds: each restarts a writer on what the previous kill left, so recovery runs
 * over recovered logs too.
 *
 * The writer is kernel/test/append-child.mjs on the compiled kernel (`tsc -b` runs before
 * the tests). The kill is driven by the acks read from its stdout, never by timers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asOffset } from '@sluice/sdk';
import { ManualClock } from '../src/clock.js';
import { PartitionLog } from '../src/log/partition-log.js';
import * as rb from '../src/log/record-batch.js';
import { emptyRecordView, readRecord } from '../src/log/records.js';
import { captureLogger, logConfig, tempDir } from './fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'append-child.mjs');
const COMPILED_LOG = join(here, '..', 'dist', 'log', 'partition-log.js');

interface Ack {
  readonly base: number;
  readonly last: number;
  readonly tag: string;
}

interface RoundResult {
  readonly readyLeo: number;
  readonly acks: Ack[];
}

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

/** Runs one writer until it has acknowledged `killAfter` appends, then SIGKILLs it. */
function runAndKill(dir: string, round: number, killAfter: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    let stderr = '';
    let readyLeo = -1;
    let killed = false;
    const acks: Ack[] = [];
    const onLine = (line: string): void => {
      const ready = /^ready (\d+)$/.exec(line);
      if (ready !== null) {
        readyLeo = Number(ready[1]);
        return;
      }
      const ack = /^acked (\d+) (\d+) ([0-9a-f]{40})$/.exec(line);
      if (ack === null) {
        reject(new Error(`unexpected line from the writer: ${JSON.stringify(line)}`));
        return;
      }
      acks.push({ base: Number(ack[1]), last: Number(ack[2]), tag: ack[3]! });
      if (!killed && acks.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      // Only whole lines count: a line cut by the kill was never a complete ack.
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL' || !killed) {
        reject(new Error(`writer ended by itself (code ${code}, signal ${signal}) after ${acks.length} acks:\n${stderr}`));
        return;
      }
      resolve({ readyLeo, acks });
    });
  });
}

/** sha1 of the values of offsets [base, last], as the writer computed its tag. */
function tagOf(log: PartitionLog, base: number, last: number): string {
  const values: string[] = [];
  const view = emptyRecordView();
  let next = base;
  while (next <= last) {
    const records = log.read(asOffset(next), 1 << 16, 'read_uncommitted').records;
    const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
    if (buf.length === 0) break;
    for (let pos = 0; pos < buf.length && next <= last; pos += rb.batchSize(buf, pos)) {
      const batchBase = rb.batchBaseOffset(buf, pos);
      let rp = pos + rb.BATCH_HEADER_BYTES;
      for (let i = 0; i < rb.batchRecordCount(buf, pos); i++) {
        rp = readRecord(buf, rp, pos + rb.batchSize(buf, pos), view);
        const offset = batchBase + view.offsetDelta;
        if (offset < next || offset > last) continue;
        values.push(buf.toString('utf8', view.valueStart, view.valueStart + view.valueLength));
        next = offset + 1;
      }
    }
  }
  return createHash('sha1').update(values.join('\n')).digest('hex');
}

/** Checks the acks against a copy of the directory, so the next writer meets exactly what the kill left. */
function verify(dir: string, acks: readonly Ack[]): number {
  const scratch = tempDir('sluice-sigkill-check-');
  dirs.push(scratch);
  cpSync(dir, scratch.path, { recursive: true });
  const log = PartitionLog.open({
    dir: scratch.path, topic: 'sigkill', partition: 0, clock: new ManualClock(), log: captureLogger(),
    config: logConfig({ 'segment.bytes': '32768', 'index.interval.bytes': '512', 'segment.index.bytes': '1024' }),
    recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false,
  });
  try {
    for (const a of acks) {
      expect(a.last, `acked [${a.base}, ${a.last}] lies below the recovered log end`).toBeLessThan(log.logEndOffset);
      expect(tagOf(log, a.base, a.last), `content of acked [${a.base}, ${a.last}]`).toBe(a.tag);
    }
    return log.logEndOffset;
  } finally {
    for (const s of log.segmentList()) s.detach();
  }
}

/** mulberry32: the kill points are random but the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SIGKILL during durable appends', () => {
  it('loses no acknowledged append, over several kill and restart rounds', async () => {
    expect(existsSync(COMPILED_LOG), `${COMPILED_LOG} is missing: build the kernel (tsc -b) first`).toBe(true);
    const dir = tempDir('sluice-sigkill-');
    dirs.push(dir);
    const random = seeded(0x51c4);
    const all: Ack[] = [];
    let recoveredEnd = 0;
    for (let round = 1; round <= 4; round++) {
      const killAfter = 50 + Math.floor(random() * 450);
      const { readyLeo, acks } = await runAndKill(dir.path, round, killAfter);
      expect(acks.length).toBeGreaterThanOrEqual(killAfter);
      // The writer's own recovery already holds everything acknowledged before.
      expect(readyLeo).toBeGreaterThanOrEqual(recoveredEnd);
      // Acks resolve in offset order with nothing unacknowledged between them.
      acks.forEach((a, i) => {
        expect(a.last).toBeGreaterThanOrEqual(a.base);
        expect(a.base).toBe(i === 0 ? readyLeo : acks[i - 1]!.last + 1);
      });
      all.push(...acks);
      recoveredEnd = verify(dir.path, all);
    }
  });
});
