/**
 * `npm run bench:interceptors`: produce throughput of a broker with no interceptor, with
 * a no-op interceptor and with the PII redactor, in one run (issue #6: "the no-op must
 * cost under 5%").
 *
 * Method
 * - Three broker processes, one per variant, started fresh at the beginning and alive
 *   for the whole run (`node kernel/dist/cli/main.js start`, loopback port, temporary
 *   data dir, `log.write.caching=true`):
 *     none      plugins=kafka
 *     no-op     plugins=kafka,bench/plugins/noop-interceptor/dist/index.js (returns every batch unchanged)
 *     redactor  plugins=kafka,examples/pii-redactor/dist/index.js, pii-redactor.fields=email,ssn
 *   Each broker's log must show its plugins started; a warm-up round (discarded) reads a
 *   stored record back to check that only the redactor masked it. The warm-up is longer
 *   than a timed run: with 60,000 records the first timed rounds still ran 20–40 % more
 *   broker CPU per message than later ones (JIT and heap sizing still settling).
 * - Workload, the same for every variant: bench/py/json_produce.py (librdkafka from
 *   /usr/bin/python3) produces MESSAGES JSON values of 1 KiB, each with `email` and `ssn`
 *   at two depths, to a fresh 1-partition topic, acks=1, linger.ms=5, batch.size=16384,
 *   and deletes the topic afterwards (untimed).
 *   - acks=1 with write caching on: nothing waits for the disk, so the broker's
 *     throughput is its CPU, where an interceptor's cost lands. With acks=all and the
 *     default fdatasync, produce is paced by group-commit syncs and this VM's disk
 *     latency, which would hide the CPU cost and add the disk's noise.
 *   - batch.size=16384 is the Java client's default. The hook point costs per partition
 *     batch, not per record: librdkafka's own default (1,000,000 bytes) puts about 1000
 *     records in a request and thins that cost 60 times more. Small batches are the hard
 *     case for the no-op (BENCH_INTERCEPT_BATCH_BYTES changes it).
 * - Rounds, interleaved: each round runs the three variants once, in an order taken in
 *   turn from the six orders of a Williams design (ABC, CBA, BCA, ACB, CAB, BAC): over
 *   six rounds each variant runs first, second and third twice and follows each other
 *   variant twice. Slow drift in the machine's load so reaches every variant alike, and
 *   none always runs right after the redactor's long run. Ratios are taken within a
 *   round (paired).
 * - Per run: msgs/s and MiB/s over the client's timed span (first produce() to flush()
 *   returning), and the broker's CPU over the same span (sampled when the client prints
 *   "# start" and "# done"), from the scheduler's per-thread nanosecond counters
 *   (`/proc/<pid>/task/<tid>/schedstat`), cross-checked with utime + stime of
 *   /proc/<pid>/stat. Wall throughput moves with every neighbour; CPU per message moves
 *   less, but contention still inflates it (at load 15–19: 6.5–12 µs per message for one
 *   variant, while its throughput moved 2.5x). Also the client's CPU, the CPU the rest of
 *   the machine used (all cores' busy time minus broker and client) and steal.
 * - Statistics: per variant, median, min–max and interquartile range across rounds. For
 *   no-op / none and redactor / none: the per-round ratios' median and geometric mean
 *   with two 95 % intervals on the mean log ratio, a paired t interval and a percentile
 *   bootstrap (10,000 resamples of rounds, fixed seed); the verdict uses the wider span
 *   of the two. No-op cost = 1 - throughput ratio (or CPU-per-message ratio - 1): PASS
 *   when its upper bound is below 5 %, FAIL when its lower bound is 5 % or more,
 *   UNSETTLED otherwise. The throughput verdict is the issue's; the CPU one is printed
 *   beside it.
 *
 * Knobs (environment): BENCH_INTERCEPT_ROUNDS (12), BENCH_INTERCEPT_MESSAGES (100000),
 * BENCH_INTERCEPT_WARMUP_MESSAGES (150000), BENCH_INTERCEPT_SIZE (1024),
 * BENCH_INTERCEPT_BATCH_BYTES (16384), BENCH_INTERCEPT_LINGER_MS (5),
 * BENCH_INTERCEPT_ACKS (1 or all), BENCH_INTERCEPT_VARIANTS (none,no-op,redactor; none
 * and at least one other), BENCH_PYTHON (/usr/bin/python3).
 * The default should take about 2 minutes on an idle 2 vCPU VM (estimated from single runs);
 * it took 5 minutes at a load average of 15–19. Exit status 0 whatever the
 * verdict; 1 when a run lost records or a plugin did not do its job.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsPrecise, cpuTimes, machineCpu, type MachineCpu } from './proc.js';
import { nameValues, REPO_ROOT, run, startBroker, type Broker } from './processes.js';
import { fmt, summarize } from './stats.js';

function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${raw}`);
  return n;
}

const ROUNDS = envInt('BENCH_INTERCEPT_ROUNDS', 12, 2);
const MESSAGES = envInt('BENCH_INTERCEPT_MESSAGES', 100_000);
const WARMUP_MESSAGES = envInt('BENCH_INTERCEPT_WARMUP_MESSAGES', 150_000);
const SIZE = envInt('BENCH_INTERCEPT_SIZE', 1024);
const BATCH_BYTES = envInt('BENCH_INTERCEPT_BATCH_BYTES', 16_384);
const LINGER_MS = envInt('BENCH_INTERCEPT_LINGER_MS', 5, 0);
const ACKS = process.env['BENCH_INTERCEPT_ACKS'] ?? '1';
if (ACKS !== '1' && ACKS !== 'all') throw new Error(`BENCH_INTERCEPT_ACKS must be 1 or all, got ${ACKS}`);
const PYTHON = process.env['BENCH_PYTHON'] ?? '/usr/bin/python3';
const SCRIPT = join(REPO_ROOT, 'bench/py/json_produce.py');
/** The bar for the no-op interceptor. */
const MAX_NOOP_COST = 0.05;
const CLIENT_TIMEOUT_MS = 180_000;
const BOOTSTRAP_RESAMPLES = 10_000;

interface Variant {
  readonly name: string;
  readonly overrides: Readonly<Record<string, string>>;
  /** Manifest id whose "plugin started" line must be in the broker's log. */
  readonly plugin: string | null;
  /** What the warm-up check must find in the stored record. */
  readonly masks: boolean;
}

const ALL_VARIANTS: readonly Variant[] = [
  { name: 'none', overrides: { plugins: 'kafka' }, plugin: null, masks: false },
  {
    name: 'no-op',
    overrides: { plugins: `kafka,${join(REPO_ROOT, 'bench/plugins/noop-interceptor/dist/index.js')}` },
    plugin: 'noop-interceptor',
    masks: false,
  },
  {
    name: 'redactor',
    overrides: { plugins: `kafka,${join(REPO_ROOT, 'examples/pii-redactor/dist/index.js')}`, 'pii-redactor.fields': 'email,ssn' },
    plugin: 'pii-redactor',
    masks: true,
  },
];

/**
 * BENCH_INTERCEPT_VARIANTS=none,no-op leaves the redactor out: its runs are four times
 * longer than the others, so the same time buys four times the rounds for the 5 % check.
 */
const VARIANTS: readonly Variant[] = (() => {
  const wanted = (process.env['BENCH_INTERCEPT_VARIANTS'] ?? 'none,no-op,redactor').split(',').map((n) => n.trim());
  const chosen = ALL_VARIANTS.filter((v) => wanted.includes(v.name));
  if (chosen[0]?.name !== 'none' || chosen.length < 2 || chosen.length !== wanted.length) {
    throw new Error(`BENCH_INTERCEPT_VARIANTS must list none and at least one of no-op, redactor; got ${wanted.join(',')}`);
  }
  return chosen;
})();

/**
 * Indexes into VARIANTS. Three: the cyclic Latin square and its mirror, alternated (a
 * Williams design). Two: AB, BA.
 */
const ORDERS: ReadonlyArray<readonly number[]> = VARIANTS.length === 3
  ? [[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 2, 1], [2, 0, 1], [1, 0, 2]]
  : [[0, 1], [1, 0]];

interface Sample {
  readonly round: number;
  readonly msgsPerS: number;
  readonly mibPerS: number;
  /** Broker CPU seconds per message, from schedstat. */
  readonly brokerCpuPerMsg: number;
  /** The same from utime + stime (10 ms ticks), as a cross-check. */
  readonly brokerCpuPerMsgTicks: number;
  /** utime alone per message: an interceptor's work is user time; page faults and socket calls are system time. */
  readonly brokerUserPerMsg: number;
  /** In % of one core over the window. */
  readonly brokerPct: number;
  readonly clientPct: number;
  /** All cores' busy time minus broker and client, in % of one core. */
  readonly othersPct: number;
  readonly stealPct: number;
  readonly recordsPerRequest: number;
}

function log(line: string): void {
  process.stderr.write(`# ${line}\n`);
}

function probeClient(): string {
  return execFileSync(PYTHON, ['-c',
    'import confluent_kafka as c; print("confluent_kafka %s, librdkafka %s" % (c.version()[0], c.libversion()[0]))'],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

interface Mark {
  readonly t: bigint;
  readonly broker: number;
  readonly brokerUser: number;
  readonly brokerSystem: number;
  readonly client: number;
  readonly machine: MachineCpu;
}

function mark(brokerPid: number, clientPid: number): Mark {
  const ticks = cpuTimes(brokerPid);
  return {
    t: process.hrtime.bigint(), broker: cpuSecondsPrecise(brokerPid), brokerUser: ticks.user, brokerSystem: ticks.system,
    client: cpuSecondsPrecise(clientPid), machine: machineCpu(),
  };
}

let topicSeq = 0;

/** One client run against `broker`; null when it failed (reported). */
async function produce(variant: Variant, broker: Broker, round: number, messages: number, check: boolean): Promise<Sample | null> {
  const topic = `intercept-${variant.name}-${topicSeq++}`;
  let start: Mark | undefined;
  let end: Mark | undefined;
  const args = [SCRIPT, '--bootstrap', broker.bootstrap, '--topic', topic, '--messages', String(messages), '--size', String(SIZE),
    '--acks', ACKS, '--linger-ms', String(LINGER_MS), '--batch-bytes', String(BATCH_BYTES)];
  if (check) args.push('--check-mask');
  const result = await run(PYTHON, args, {
    env: { PYTHONUNBUFFERED: '1' },
    timeoutMs: CLIENT_TIMEOUT_MS,
    onLine(line, stream, pid) {
      if (stream !== 'stderr') return;
      if (line === '# start') start = mark(broker.pid, pid);
      else if (line === '# done') end = mark(broker.pid, pid);
    },
  });
  const v = nameValues(result.stdout);
  const appended = v.get('produce_appended') ?? -1;
  if (result.code !== 0 || appended !== messages || start === undefined || end === undefined) {
    log(`round ${round} ${variant.name}: client exited ${result.code}, ${appended}/${messages} appended`);
    for (const l of result.stderr.slice(-5)) log(`  ${l}`);
    return null;
  }
  if (check) {
    const masked = v.get('stored_value_masked');
    if (masked !== (variant.masks ? 1 : 0)) {
      log(`${variant.name}: the stored record is ${masked === 1 ? '' : 'not '}masked; expected the opposite`);
      return null;
    }
  }
  const wall = Number(end.t - start.t) / 1e9;
  const broker_ = end.broker - start.broker;
  const client = end.client - start.client;
  const busy = end.machine.busy - start.machine.busy;
  const requests = v.get('produce_requests') ?? NaN;
  return {
    round,
    msgsPerS: v.get('produce_msgs_per_s') ?? NaN,
    mibPerS: v.get('produce_mib_per_s') ?? NaN,
    brokerCpuPerMsg: broker_ / messages,
    brokerCpuPerMsgTicks: (end.brokerUser + end.brokerSystem - start.brokerUser - start.brokerSystem) / messages,
    brokerUserPerMsg: (end.brokerUser - start.brokerUser) / messages,
    brokerPct: (broker_ / wall) * 100,
    clientPct: (client / wall) * 100,
    othersPct: (Math.max(0, busy - broker_ - client) / wall) * 100,
    stealPct: ((end.machine.steal - start.machine.steal) / wall) * 100,
    recordsPerRequest: requests > 0 ? messages / requests : NaN,
  };
}

// ---- statistics

/** Linear-interpolation quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Two-sided 95 % quantile of Student's t: a table to 30 degrees of freedom, Cornish-Fisher beyond. */
function t975(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
    2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
  if (df <= table.length) return table[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** mulberry32: a seeded generator, so the bootstrap interval of a given run is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RatioStats {
  readonly n: number;
  readonly median: number;
  readonly geomean: number;
  readonly t: readonly [number, number];
  readonly boot: readonly [number, number];
  /** The wider span of the two intervals: what the verdict uses. */
  readonly lo: number;
  readonly hi: number;
}

/** Paired ratios a/b per round, summarised on the log scale (a ratio and its inverse are symmetric there). */
function ratioStats(ratios: readonly number[]): RatioStats {
  const logs = ratios.map(Math.log);
  const n = logs.length;
  const m = mean(logs);
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
  const half = t975(n - 1) * sd / Math.sqrt(n);
  const random = rng(0x5eed + n);
  const means: number[] = [];
  for (let b = 0; b < BOOTSTRAP_RESAMPLES; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += logs[Math.floor(random() * n)]!;
    means.push(s / n);
  }
  means.sort((x, y) => x - y);
  const t: [number, number] = [Math.exp(m - half), Math.exp(m + half)];
  const boot: [number, number] = [Math.exp(quantile(means, 0.025)), Math.exp(quantile(means, 0.975))];
  return {
    n, median: summarize(ratios).median, geomean: Math.exp(m), t, boot,
    lo: Math.min(t[0], boot[0]), hi: Math.max(t[1], boot[1]),
  };
}

/**
 * The verdict on a cost interval [lo, hi] (fractions; negative means faster or cheaper
 * than without the interceptor).
 */
function verdict(costLo: number, costHi: number): string {
  if (!Number.isFinite(costLo) || !Number.isFinite(costHi)) return 'n/a';
  if (costHi < MAX_NOOP_COST) return 'PASS';
  if (costLo >= MAX_NOOP_COST) return 'FAIL';
  return 'UNSETTLED';
}

const pct = (x: number, digits = 1): string => `${x >= 0 ? '+' : ''}${fmt(x * 100, digits)} %`;

function spread(values: readonly number[], digits: number): string {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return `${fmt(quantile(sorted, 0.5), digits)} (${fmt(sorted[0] ?? NaN, digits)}–${fmt(sorted[sorted.length - 1] ?? NaN, digits)}; ` +
    `IQR ${fmt(quantile(sorted, 0.25), digits)}–${fmt(quantile(sorted, 0.75), digits)})`;
}

function med(values: readonly number[]): number {
  return summarize(values.filter(Number.isFinite)).median;
}

// ---- main

async function main(): Promise<void> {
  const loadStart = loadavg();
  const t0 = process.hrtime.bigint();
  const client = probeClient();
  for (const path of [SCRIPT, ...VARIANTS.flatMap((v) => (v.plugin === null ? [] : [v.overrides['plugins']!.split(',')[1]!]))]) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run npx tsc -b first`);
  }
  console.log(`# bench:interceptors date=${new Date().toISOString()} cores=${cpus().length} cpu="${cpus()[0]?.model ?? '?'}" node=${process.version}`);
  console.log(`# loadavg at start: ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`# client: ${PYTHON} ${client}; ${MESSAGES} x ${SIZE} B JSON per run, acks=${ACKS}, linger.ms=${LINGER_MS}, ` +
    `batch.size=${BATCH_BYTES}, 1 partition; brokers with log.write.caching=true; ${ROUNDS} rounds + 1 warm-up round of ${WARMUP_MESSAGES}`);

  const brokers = new Map<Variant, Broker>();
  const samples = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
  let failures = 0;
  try {
    for (const v of VARIANTS) {
      const broker = await startBroker({ 'log.write.caching': 'true', ...v.overrides });
      brokers.set(v, broker);
      const out = broker.output();
      // A plugin that fails to start is disabled and the broker carries on: check each one.
      for (const id of ['kafka', ...(v.plugin === null ? [] : [v.plugin])]) {
        if (!new RegExp(`plugin started plugin=${id}\\b`).test(out)) throw new Error(`${v.name}: the broker did not start plugin ${id}:\n${out}`);
      }
      log(`${v.name}: broker pid ${broker.pid} on ${broker.bootstrap}, plugins=${v.overrides['plugins']}`);
    }
    // Warm-up: JIT, the brokers' first topic, page cache; also the masking check.
    for (const v of VARIANTS) {
      const s = await produce(v, brokers.get(v)!, 0, WARMUP_MESSAGES, true);
      if (s === null) throw new Error(`${v.name}: the warm-up run failed`);
      log(`warm-up ${v.name}: ${fmt(s.msgsPerS)} msgs/s, stored record ${v.masks ? 'masked' : 'not masked'} as expected`);
    }
    for (let r = 1; r <= ROUNDS; r++) {
      const order = ORDERS[(r - 1) % ORDERS.length]!.map((i) => VARIANTS[i]!);
      const load1 = loadavg()[0]!;
      for (const v of order) {
        const s = await produce(v, brokers.get(v)!, r, MESSAGES, false);
        if (s === null) {
          failures++;
          continue;
        }
        samples.get(v)!.push(s);
        log(`round ${r}/${ROUNDS} ${v.name.padEnd(8)} ${fmt(s.msgsPerS).padStart(7)} msgs/s ${fmt(s.mibPerS, 1).padStart(6)} MiB/s  ` +
          `broker ${fmt(s.brokerCpuPerMsg * 1e6, 2)} µs/msg (user ${fmt(s.brokerUserPerMsg * 1e6, 2)}; ${fmt(s.brokerPct)} %)  client ${fmt(s.clientPct)} %  ` +
          `others ${fmt(s.othersPct)} %  steal ${fmt(s.stealPct)} %  ${fmt(s.recordsPerRequest, 1)} rec/req  load1 ${load1.toFixed(2)}`);
      }
    }
    for (const [v, b] of brokers) {
      // Deleting a topic logs its partitions as offline at ERROR level: expected here.
      const errors = b.output().split('\n').filter((l) => / ERROR /.test(l) && !/reason="topic deleted"/.test(l));
      if (errors.length > 0) log(`${v.name} broker logged errors:\n${errors.slice(0, 5).join('\n')}`);
    }
  } finally {
    for (const b of brokers.values()) await b.stop();
  }
  report(samples, loadStart, Number(process.hrtime.bigint() - t0) / 1e9, failures);
  if (failures > 0) process.exitCode = 1;
}

function report(samples: Map<Variant, Sample[]>, loadStart: number[], seconds: number, failures: number): void {
  const none = VARIANTS[0]!;
  const noop = VARIANTS.find((v) => v.name === 'no-op');
  const redactor = VARIANTS.find((v) => v.name === 'redactor');
  const byRound = (v: Variant): Map<number, Sample> => new Map(samples.get(v)!.map((s) => [s.round, s]));
  const base = byRound(none);
  /** Per-round ratios of `v` to none, rounds where both ran. */
  const paired = (v: Variant, f: (s: Sample) => number): number[] => {
    const out: number[] = [];
    for (const [round, s] of byRound(v)) {
      const b = base.get(round);
      if (b !== undefined && Number.isFinite(f(s)) && Number.isFinite(f(b)) && f(b) > 0) out.push(f(s) / f(b));
    }
    return out;
  };

  console.log('');
  console.log(`## Produce with interceptors, ${MESSAGES} x ${SIZE} B JSON, acks=${ACKS}, batch.size=${BATCH_BYTES}, ` +
    `linger.ms=${LINGER_MS}, 1 partition, write caching on (median (min–max; IQR) over rounds)`);
  console.log('');
  console.log('| variant | runs | msgs/s | MiB/s | broker CPU µs/msg | broker CPU % | client CPU % | others CPU % | steal % | records/request |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const v of VARIANTS) {
    const s = samples.get(v)!;
    console.log(`| ${v.name} | ${s.length} | ${spread(s.map((x) => x.msgsPerS), 0)} | ${spread(s.map((x) => x.mibPerS), 1)} | ` +
      `${spread(s.map((x) => x.brokerCpuPerMsg * 1e6), 2)} | ${fmt(med(s.map((x) => x.brokerPct)))} | ${fmt(med(s.map((x) => x.clientPct)))} | ` +
      `${fmt(med(s.map((x) => x.othersPct)))} | ${fmt(med(s.map((x) => x.stealPct)))} | ${fmt(med(s.map((x) => x.recordsPerRequest)), 1)} |`);
  }
  // The tick-based figure only backs up the precise one: they should agree within ~1 %.
  const tickCheck = VARIANTS.map((v) => {
    const s = samples.get(v)!;
    return `${v.name} ${fmt(med(s.map((x) => x.brokerCpuPerMsgTicks * 1e6)), 2)} (user ${fmt(med(s.map((x) => x.brokerUserPerMsg * 1e6)), 2)})`;
  }).join(', ');
  console.log('');
  console.log(`Broker CPU µs/msg from utime+stime (10 ms ticks), medians, for comparison: ${tickCheck}.`);

  console.log('');
  console.log(`| ratio (paired per round) | rounds | median | geometric mean | 95 % CI, paired t | 95 % CI, bootstrap | cost (95 % CI, wider span) | verdict (cost < ${MAX_NOOP_COST * 100} %) |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const lines: Array<[string, Variant | undefined, (s: Sample) => number, boolean, boolean]> = [
    ['no-op / none, msgs/s', noop, (s) => s.msgsPerS, true, true],
    ['no-op / none, broker CPU per msg', noop, (s) => s.brokerCpuPerMsg, false, true],
    ['no-op / none, broker user CPU per msg', noop, (s) => s.brokerUserPerMsg, false, false],
    ['redactor / none, msgs/s', redactor, (s) => s.msgsPerS, true, false],
    ['redactor / none, broker CPU per msg', redactor, (s) => s.brokerCpuPerMsg, false, false],
  ];
  const verdicts: string[] = [];
  for (const [label, v, f, higherIsBetter, judged] of lines) {
    if (v === undefined) continue;
    const ratios = paired(v, f);
    if (ratios.length < 2) {
      console.log(`| ${label} | ${ratios.length} | n/a | | | | | |`);
      continue;
    }
    const r = ratioStats(ratios);
    // Cost: lost throughput (1 - ratio) or extra CPU per message (ratio - 1).
    const cost = higherIsBetter ? { at: 1 - r.geomean, lo: 1 - r.hi, hi: 1 - r.lo } : { at: r.geomean - 1, lo: r.lo - 1, hi: r.hi - 1 };
    const vd = judged ? verdict(cost.lo, cost.hi) : '';
    if (judged) verdicts.push(`${label}: cost ${pct(cost.at)} (95 % CI ${pct(cost.lo)} .. ${pct(cost.hi)}) ${vd}`);
    console.log(`| ${label} | ${r.n} | ${fmt(r.median, 3)} | ${fmt(r.geomean, 3)} | ${fmt(r.t[0], 3)}–${fmt(r.t[1], 3)} | ` +
      `${fmt(r.boot[0], 3)}–${fmt(r.boot[1], 3)} | ${pct(cost.at)} (${pct(cost.lo)} .. ${pct(cost.hi)}) | ${vd} |`);
  }
  console.log('');
  console.log('Verdicts: PASS when the cost\'s upper bound is below 5 %, FAIL when its lower bound is 5 % or more, UNSETTLED otherwise.');
  for (const v of verdicts) console.log(`- ${v}`);
  const noopRatios = noop === undefined ? [] : paired(noop, (s) => s.msgsPerS);
  const noopVerdict = noopRatios.length >= 2 ? (() => {
    const r = ratioStats(noopRatios);
    return verdict(1 - r.hi, 1 - r.lo);
  })() : 'n/a';
  console.log('');
  console.log(`VERDICT no-op interceptor, produce throughput (issue #6: cost under 5 %): ${noopVerdict}`);
  if (failures > 0) console.log(`${failures} run(s) failed and were left out (see the log above); exit status 1`);
  console.log(`# loadavg at start ${loadStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
    `${fmt(seconds)} s in all`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
