/**
 * `npm run bench:hooks`: what the produce interceptor hook point costs per partition
 * append, measured as the Kafka frontend calls it (`hasHandlers`, then build the input
 * and run the waterfall only when someone registered), with 0, 1 and 5 synchronous no-op
 * handlers, and 1 handler that returns a promise.
 *
 * Method: each case runs for BENCH_HOOKS_MS (500 ms) per repetition, REPS (5)
 * repetitions, cases interleaved per repetition so drift hits them alike; printed: median,
 * min, max ops/s and ns/op. The batch is one real RecordBatch; no handler decodes it, so
 * this isolates the chain's cost from the interceptor's own work.
 */
import { buildBatch, HookDriver } from '@sluice/kernel';
import { ANONYMOUS, type ConnectionDescription, type Logger, type RecordBatches } from '@sluice/sdk';
import { fmt, fmtSummary, nowNs, secondsSince, summarize } from './stats.js';

const RUN_MS = Number(process.env['BENCH_HOOKS_MS'] ?? 500);
const REPS = 5;
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const connection: ConnectionDescription = { id: 1, protocol: 'kafka', listener: 'PLAINTEXT', remoteAddress: '127.0.0.1', remotePort: 9 };
const bytes = buildBatch([{ key: null, value: Buffer.alloc(1024), timestampMs: 1 }]);

interface Case {
  readonly name: string;
  readonly driver: HookDriver;
  readonly async: boolean;
}

function makeCase(name: string, handlers: number, async: boolean): Case {
  const driver = new HookDriver(quiet);
  for (let i = 0; i < handlers; i++) {
    if (async) driver.register(`p${i}`, quiet, 'produce.intercept', async (b: RecordBatches) => b);
    else driver.register(`p${i}`, quiet, 'produce.intercept', (b: RecordBatches) => b);
  }
  driver.freeze();
  return { name, driver, async };
}

/** The frontend's call pattern; returns the bytes to append so nothing is optimised away. */
function intercept(driver: HookDriver, topic: string): Uint8Array | Promise<Uint8Array> {
  if (!driver.hasHandlers('produce.intercept')) return bytes;
  const result = driver.runWaterfall('produce.intercept', driver.recordBatches(bytes), {
    connection, principal: ANONYMOUS, topic, partition: 0, clientId: 'bench', acks: 'leader',
  });
  if (result instanceof Promise) return result.then((r) => (r.outcome === 'accept' ? r.value.bytes : bytes));
  return result.outcome === 'accept' ? result.value.bytes : bytes;
}

async function run(c: Case): Promise<number> {
  const t0 = nowNs();
  let ops = 0;
  let sink = 0;
  const deadline = RUN_MS / 1000;
  while (secondsSince(t0) < deadline) {
    for (let i = 0; i < 1000; i++) {
      const out = intercept(c.driver, 'bench');
      sink += (out instanceof Promise ? await out : out).length;
    }
    ops += 1000;
  }
  if (sink === 0) throw new Error('nothing ran');
  return ops / secondsSince(t0);
}

const cases = [makeCase('0 handlers', 0, false), makeCase('1 sync no-op', 1, false), makeCase('5 sync no-ops', 5, false),
  makeCase('1 async no-op', 1, true)];
const results = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (const c of cases) await run(c); // warm-up, discarded
for (let rep = 0; rep < REPS; rep++) {
  for (const c of cases) results.get(c.name)!.push(await run(c));
}
console.log(`produce.intercept hook point, ${REPS} x ${RUN_MS} ms per case (Node ${process.version})`);
for (const c of cases) {
  const s = summarize(results.get(c.name)!);
  console.log(`  ${c.name.padEnd(14)} ops/s ${fmtSummary(s)}  ns/op ${fmt(1e9 / s.median, 1)}`);
}
