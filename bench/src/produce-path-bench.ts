/**
 * `npx tsc -b && node bench/dist/produce-path-bench.js`: what a Produce request costs the
 * Kafka frontend in process, from the request frame to the encoded response, with no `produce.intercept`
 * handler, with one synchronous no-op (bench/plugins/noop-interceptor's handler) and with
 * one that returns a promise. It prices the route a request takes once any interceptor is
 * registered (dispatcher, hook point, record view, waterfall) without the end-to-end
 * bench's network, client and neighbours' noise.
 *
 * Method: the real Dispatcher and Produce handler (all APIs, as the plugin builds them)
 * over a stub kernel whose partition acknowledges every append with a settled promise,
 * so the kernel's own work (validation, storage) is left out and the figure is the
 * frontend's alone: the ratio is the interceptor's share of that part only, an upper
 * bound of its share of the whole broker's. The request is Produce v9, acks=1, one
 * partition, one batch of RECORDS_PER_BATCH records of RECORD_BYTES (the end-to-end
 * bench's 16 KiB batches). Each request is awaited before the next, as a connection
 * that does not pipeline. The cost is the process's CPU time (user + system, GC threads
 * included) per request, not wall time: on a loaded machine the wait for a core is not
 * the code's. Cases are interleaved per repetition (BENCH_PRODUCE_PATH_REPS, 151, of
 * BENCH_PRODUCE_PATH_MS, 50, each: many short ones, as bursts of the neighbours' load
 * spoil a long one) so drift hits them alike; printed: median, min, max CPU ns/request,
 * and the medians of the per-repetition differences and ratios to 0 interceptors.
 * BENCH_PRODUCE_PATH_CASES=1 (indexes, comma-separated) runs only some cases, e.g. under
 * `node --cpu-prof`.
 */
import { buildBatch, HookDriver } from '@sluice/kernel';
import { ApiKey, encodeRequest } from '@sluice/plugin-kafka/protocol';
import { asOffset, type AppendResult, type Kernel, type Logger, type PartitionHandle, type RecordBatches } from '@sluice/sdk';
// The dispatcher and API table are not part of the plugin's exports: taken from its build output.
import { allApis } from '../../plugins/kafka/dist/apis/index.js';
import { Dispatcher, type SharedContext } from '../../plugins/kafka/dist/dispatcher.js';
import { FetchSessions } from '../../plugins/kafka/dist/fetch-sessions.js';
import { Purgatory } from '../../plugins/kafka/dist/purgatory.js';
import type { ConnectionInfo, Exchange } from '../../plugins/kafka/dist/server/connection.js';
import { fmt, fmtSummary, nowNs, secondsSince, summarize } from './stats.js';

const RUN_MS = Number(process.env['BENCH_PRODUCE_PATH_MS'] ?? 50);
const REPS = Number(process.env['BENCH_PRODUCE_PATH_REPS'] ?? 151);
const RECORDS_PER_BATCH = 15;
const RECORD_BYTES = 1024;
const REQUESTS_PER_CHECK = 500;
const PRODUCE_VERSION = 9;

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const appended: AppendResult = { baseOffset: asOffset(0), lastOffset: asOffset(14), logAppendTimeMs: -1, logStartOffset: asOffset(0), duplicate: false };
const acknowledged = Promise.resolve(appended);
let appends = 0;
const partition = {
  topic: 'bench', partition: 0, leaderEpoch: 0, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, logEndOffset: 0,
  append: (bytes: Uint8Array) => {
    appends += bytes.length;
    return acknowledged;
  },
} as unknown as PartitionHandle;
const kernel = {
  nodeId: 1, clusterId: 'bench',
  partition: (topic: string, p: number) => (topic === 'bench' && p === 0 ? partition : undefined),
  topicPartitions: () => [],
} as unknown as Kernel;

const records = buildBatch(Array.from({ length: RECORDS_PER_BATCH }, () => ({ key: null, value: Buffer.alloc(RECORD_BYTES, 0x61), timestampMs: 1 })));
const frame = encodeRequest(ApiKey.Produce, PRODUCE_VERSION, 7, 'bench', {
  transactionalId: null, acks: 1, timeoutMs: 30_000,
  topicData: [{ name: 'bench', partitionData: [{ index: 0, records }] }],
} as never).subarray(4);

const connection: ConnectionInfo = {
  protocol: 'kafka', id: 1, listener: 'PLAINTEXT', remoteAddress: '127.0.0.1', remotePort: 9, localAddress: '127.0.0.1',
  closed: new AbortController().signal,
};

interface Case {
  readonly name: string;
  readonly dispatcher: Dispatcher;
}

function makeCase(name: string, handler: ((b: RecordBatches) => RecordBatches | Promise<RecordBatches>) | undefined): Case {
  const hooks = new HookDriver(quiet);
  if (handler !== undefined) hooks.register('noop-interceptor', quiet, 'produce.intercept', handler);
  hooks.freeze();
  const shared = {
    kernel, broker: { nodeId: 1, clusterId: 'bench', props: {}, listeners: [], advertisedListeners: [] },
    config: {}, log: quiet, signal: new AbortController().signal, hooks,
    fetchSessions: new FetchSessions(10), purgatory: new Purgatory(), groups: {}, transactions: {},
  } as unknown as SharedContext;
  return { name, dispatcher: new Dispatcher(allApis, shared) };
}

/** CPU time of the process in ns (user + system): a loaded machine's waits for a core are not the code's cost. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function run(c: Case): Promise<number> {
  const t0 = nowNs();
  const cpu0 = cpuNs();
  let requests = 0;
  let sink = 0;
  const deadline = RUN_MS / 1000;
  while (secondsSince(t0) < deadline) {
    for (let i = 0; i < REQUESTS_PER_CHECK; i++) {
      const exchange: Exchange = { receivedMs: 0, timing: null };
      const out = c.dispatcher.handle(frame, connection, exchange);
      const response = out instanceof Promise ? await out : out;
      if (response === null) throw new Error('an acks=1 produce got no response');
      sink += response.length;
    }
    requests += REQUESTS_PER_CHECK;
  }
  if (sink === 0 || appends === 0) throw new Error('nothing ran');
  return (cpuNs() - cpu0) / requests;
}

const ONLY = process.env['BENCH_PRODUCE_PATH_CASES']?.split(',');
const cases = [
  makeCase('0 interceptors', undefined),
  makeCase('1 sync no-op', (b) => b),
  makeCase('1 async no-op', async (b) => b),
].filter((c, i) => ONLY === undefined || ONLY.includes(String(i)));
const results = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (const c of cases) await run(c); // warm-up, discarded
for (let rep = 0; rep < REPS; rep++) {
  for (const c of cases) results.get(c.name)!.push(await run(c));
}
const base = results.get(cases[0]!.name)!;
console.log(`Produce v${PRODUCE_VERSION} acks=1, 1 partition, ${RECORDS_PER_BATCH} x ${RECORD_BYTES} B records, stub kernel; `
  + `${REPS} x ${RUN_MS} ms per case (Node ${process.version})`);
for (const c of cases) {
  const ns = results.get(c.name)!;
  const ratio = summarize(ns.map((v, i) => v / base[i]!));
  const extra = summarize(ns.map((v, i) => v - base[i]!));
  console.log(`  ${c.name.padEnd(15)} CPU ns/request ${fmtSummary(summarize(ns))}  over 0: ${fmt(extra.median)} ns, `
    + `ratio ${fmt(ratio.median, 3)} (${fmt(ratio.min, 3)}-${fmt(ratio.max, 3)})`);
}
