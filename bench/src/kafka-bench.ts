/**
 * `npm run bench:kafka`: a Sluice broker process driven by librdkafka over 127.0.0.1,
 * beside this machine's ceilings and peer brokers measured in the same run.
 *
 * Method
 * 1. Ceilings: a temporary copy of ../shared/bench/limits.sh with ONLY="node_disk net":
 *    Node 1 MiB appends (no sync, fdatasync every 1 MiB, ...; cold and warm memory) and
 *    loopback TCP (iperf3, Node net sink/echo).
 * 2. Peers: peers.sh from the same copy with ONLY="nats redis": NATS JetStream acked
 *    publish and ordered-consumer read of 1 KiB messages, Redis Streams XADD 100 B
 *    (redis-benchmark) without persistence and with AOF everysec.
 * 3. Sluice: one broker per fsync policy, on a free loopback port with a temporary data
 *    dir: `log.write.caching=false` (the default: acks=all answered after the
 *    group-commit fdatasync) and `log.write.caching=true` (no fsync). On each, for 1 and
 *    6 partitions and acks=1 and acks=all, KAFKA_REPS times on a fresh topic:
 *    - produce BENCH_MESSAGES x 1 KiB with a copy of kafka-client-load.py --no-consume
 *      (librdkafka: linger.ms=5, batch.size=1000000, no compression, default partitioner);
 *    - read them back from the page cache with bench/py/consume_check.py, an assign-based
 *      consumer (no group join to wait for; written when the broker had no groups, and
 *      the load script's subscribe() never got an assignment). It checks every sequence
 *      arrived once and in order per partition (lost/dup/out_of_order, the load
 *      script's verdict).
 *    Client and broker CPU (% of one core) come from /proc/<pid>/stat between the lines
 *    the clients print when the timed phase starts and ends.
 * 4. End-to-end latency on the fsync broker, acks=all, 1 partition: bench/py/latency.py
 *    paces BENCH_LATENCY_RATE msgs/s of 1 KiB for 2 s of warm-up plus
 *    BENCH_LATENCY_SECONDS, stamping CLOCK_MONOTONIC in each value; an assign-based
 *    consumer on the same host takes receive - send.
 * Figures are medians of the repetitions; each is printed beside its ceiling and peers as
 * a ratio (Sluice / other). Peers and ceilings are measured before Sluice, minutes apart
 * at most; the machine drifts, so read ratios from one run only.
 *
 * Knobs (environment): BENCH_MESSAGES (300000), KAFKA_REPS (3), BENCH_LATENCY_RATE
 * (10000), BENCH_LATENCY_SECONDS (10), LIMITS_REPS (2), PEERS_REPS (2),
 * KAFKA_BENCH_ONLY (comma list of limits, peers, sluice, latency; all by default),
 * BENCH_PYTHON (/usr/bin/python3, where Debian's python3-confluent-kafka lives),
 * SHARED_BENCH_DIR (../shared/bench), BENCH_BROKER_NODE_ARGS (extra node flags for the
 * broker, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 * Exit status is 0 whatever the ratios: PASS / BELOW only compare with the issue's aims.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { rawAppend } from './ceiling.js';
import { cpuMark, type CpuMark } from './proc.js';
import { nameValues, REPO_ROOT, run, startBroker, tempDir, type Broker } from './processes.js';
import { copySharedBench, runSharedScript, type SharedCopy } from './shared-bench.js';
import { fmt, fmtSummary, percentile, summarize, type Summary } from './stats.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

const MESSAGES = envInt('BENCH_MESSAGES', 300_000);
const REPS = envInt('KAFKA_REPS', 3);
const LAT_RATE = envInt('BENCH_LATENCY_RATE', 10_000);
const LAT_SECONDS = envInt('BENCH_LATENCY_SECONDS', 10);
const LAT_WARMUP_SECONDS = 2;
const LIMITS_REPS = envInt('LIMITS_REPS', 2);
const PEERS_REPS = envInt('PEERS_REPS', 2);
const SIZE = 1024;
const PARTITIONS = [1, 6] as const;
const ACKS = ['1', 'all'] as const;
const PYTHON = process.env['BENCH_PYTHON'] ?? '/usr/bin/python3';
const STEPS = new Set((process.env['KAFKA_BENCH_ONLY'] ?? 'limits,peers,sluice,latency').split(',').map((s) => s.trim()));
const BROKER_NODE_ARGS = (process.env['BENCH_BROKER_NODE_ARGS'] ?? '').split(' ').filter((s) => s !== '');
const PY_DIR = join(REPO_ROOT, 'bench/py');
/** Per client process; a stuck client must not hold the bench. */
const CLIENT_TIMEOUT_MS = 180_000;

const AIM = {
  durableVsCeiling: 0.5,
  durableVsNats: 1,
  noSyncVsNats: 2,
  consumeVsNats: 3,
  p99Us: 5000,
} as const;

type Acks = (typeof ACKS)[number];

interface CaseResult {
  readonly fsync: boolean;
  readonly partitions: number;
  readonly acks: Acks;
  readonly produceMib: number[];
  readonly produceMsgs: number[];
  readonly produceClientCpu: number[];
  readonly produceBrokerCpu: number[];
  readonly consumeMib: number[];
  readonly consumeMsgs: number[];
  readonly consumeClientCpu: number[];
  readonly consumeBrokerCpu: number[];
  readonly verdicts: string[];
  failedRuns: number;
}

function log(line: string): void {
  process.stderr.write(`# ${line}\n`);
}

function ensureConfluentKafka(): string {
  const probe = (): string => execFileSync(PYTHON, ['-c',
    'import confluent_kafka as c; print("confluent_kafka %s, librdkafka %s" % (c.version()[0], c.libversion()[0]))'],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return probe();
  } catch {
    if (process.getuid?.() !== 0) throw new Error(`${PYTHON} cannot import confluent_kafka: apt-get install python3-confluent-kafka`);
    log('installing python3-confluent-kafka (apt-get)');
    execFileSync('apt-get', ['install', '-y', 'python3-confluent-kafka'], {
      stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return probe();
  }
}

function caseName(c: { fsync: boolean; partitions: number; acks: Acks }): string {
  return `${c.fsync ? 'fsync' : 'nofsync'}_p${c.partitions}_acks${c.acks}`;
}

let topicSeq = 0;

async function produceAndConsume(broker: Broker, loadScript: string, c: CaseResult): Promise<void> {
  const topic = `bench-${caseName(c).replace(/_/g, '-')}-${topicSeq++}`;
  const bootstrap = broker.bootstrap;
  let client: CpuMark | undefined;
  let server: CpuMark | undefined;
  let clientCpu = NaN;
  let brokerCpu = NaN;
  const produced = await run(PYTHON, [loadScript, '--bootstrap', bootstrap, '--topic', topic,
    '--messages', String(MESSAGES), '--size', String(SIZE), '--acks', c.acks, '--partitions', String(c.partitions),
    '--no-consume', '--produce-timeout', '120'], {
    env: { PYTHONUNBUFFERED: '1' },
    timeoutMs: CLIENT_TIMEOUT_MS,
    onLine(line, _stream, pid) {
      // The script creates the topic right before its timed produce loop and prints the
      // rate right after flush().
      if (line.startsWith('# created topic')) {
        client = cpuMark(pid);
        server = cpuMark(broker.pid);
      } else if (line.startsWith('produce_msgs_per_s') && client && server) {
        clientCpu = client.pct();
        brokerCpu = server.pct();
      }
    },
  });
  const pv = nameValues(produced.stdout);
  const delivered = MESSAGES - (pv.get('produce_delivery_errors') ?? MESSAGES);
  if (produced.code !== 0 || delivered !== MESSAGES) {
    c.failedRuns++;
    log(`${caseName(c)}: produce exited ${produced.code}, ${delivered}/${MESSAGES} delivered`);
    for (const l of produced.stderr.slice(-5)) log(`  ${l}`);
  }
  c.produceMib.push(pv.get('produce_mib_per_s') ?? NaN);
  c.produceMsgs.push(pv.get('produce_msgs_per_s') ?? NaN);
  c.produceClientCpu.push(clientCpu);
  c.produceBrokerCpu.push(brokerCpu);

  let consumeBroker: CpuMark | undefined;
  let consumeBrokerCpu = NaN;
  const consumed = await run(PYTHON, [join(PY_DIR, 'consume_check.py'), '--bootstrap', bootstrap, '--topic', topic,
    '--messages', String(MESSAGES), '--timeout', '120'], {
    env: { PYTHONUNBUFFERED: '1' },
    timeoutMs: CLIENT_TIMEOUT_MS,
    onLine(line) {
      if (line === '# assigned') consumeBroker = cpuMark(broker.pid);
      else if (line.startsWith('consume_msgs_per_s') && consumeBroker) consumeBrokerCpu = consumeBroker.pct();
    },
  });
  const cv = nameValues(consumed.stdout);
  const verdict = consumed.stdout.find((l) => l.startsWith('lost=')) ?? `no verdict (exit ${consumed.code})`;
  if (consumed.code !== 0) {
    c.failedRuns++;
    log(`${caseName(c)}: consume check failed: ${verdict}`);
    for (const l of consumed.stderr.slice(-5)) log(`  ${l}`);
  }
  c.verdicts.push(verdict);
  c.consumeMib.push(cv.get('consume_mib_per_s') ?? NaN);
  c.consumeMsgs.push(cv.get('consume_msgs_per_s') ?? NaN);
  c.consumeClientCpu.push(cv.get('consume_client_cpu_pct') ?? NaN);
  c.consumeBrokerCpu.push(consumeBrokerCpu);
  log(`${caseName(c)}: produce ${fmt(pv.get('produce_mib_per_s') ?? NaN, 1)} MiB/s (client ${fmt(clientCpu)} %, broker ${fmt(brokerCpu)} %), ` +
    `consume ${fmt(cv.get('consume_mib_per_s') ?? NaN, 1)} MiB/s (client ${fmt(cv.get('consume_client_cpu_pct') ?? NaN)} %, broker ${fmt(consumeBrokerCpu)} %), ${verdict}`);
}

interface LatencyResult {
  readonly values: Map<string, number>;
  readonly ok: boolean;
  readonly brokerCpu: number;
  /** fdatasync after each 10 KiB append, in µs: the floor under an acks=all round trip. */
  readonly syncP50Us: number;
  readonly syncP99Us: number;
}

/**
 * The disk's fdatasync latency for small appends, right before the latency run: at
 * 10,000 msgs/s a group commit covers about 10 KiB per millisecond, and acks=all cannot
 * answer faster than one such sync, so the latency aim is read against it.
 */
function syncProbe(dir: string): { p50: number; p99: number } {
  const chunk = Buffer.alloc(10 * 1024, 0x61);
  const r = rawAppend(join(dir, 'sync-probe.dat'), [chunk], 300 * chunk.length, 5, chunk.length);
  rmSync(join(dir, 'sync-probe.dat'), { force: true });
  const sorted = [...r.syncLatencyUs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

async function latency(broker: Broker, scratch: string): Promise<LatencyResult> {
  const sync = syncProbe(scratch);
  const topic = `bench-latency-${topicSeq++}`;
  const warmup = LAT_RATE * LAT_WARMUP_SECONDS;
  const total = warmup + LAT_RATE * LAT_SECONDS;
  const common = ['--bootstrap', broker.bootstrap, '--topic', topic, '--messages', String(total), '--warmup', String(warmup)];
  let ready!: () => void;
  const isReady = new Promise<void>((ok) => { ready = ok; });
  const consumer = run(PYTHON, [join(PY_DIR, 'latency.py'), 'consume', ...common, '--partitions', '1',
    '--timeout', String(LAT_SECONDS + LAT_WARMUP_SECONDS + 60)], {
    env: { PYTHONUNBUFFERED: '1' },
    timeoutMs: CLIENT_TIMEOUT_MS,
    onLine(line) {
      if (line === 'ready') ready();
    },
  });
  const gone = consumer.then(() => undefined);
  await Promise.race([isReady, gone]);
  // From the producer's start: its ~0.3 s of Python start-up in 12 s barely moves the figure.
  const server = cpuMark(broker.pid);
  const producer = await run(PYTHON, [join(PY_DIR, 'latency.py'), 'produce', ...common, '--rate', String(LAT_RATE),
    '--size', String(SIZE), '--acks', 'all'], { env: { PYTHONUNBUFFERED: '1' }, timeoutMs: CLIENT_TIMEOUT_MS });
  const brokerCpu = server.pct();
  const consumed = await consumer;
  const values = new Map([...nameValues(producer.stdout), ...nameValues(consumed.stdout)]);
  const ok = producer.code === 0 && consumed.code === 0;
  if (!ok) {
    log(`latency: producer exit ${producer.code}, consumer exit ${consumed.code}`);
    for (const l of [...producer.stderr, ...consumed.stderr].slice(-8)) log(`  ${l}`);
  }
  return { values, ok, brokerCpu, syncP50Us: sync.p50, syncP99Us: sync.p99 };
}

/** Ratio of two medians, or n/a. */
function ratio(a: number, b: number | undefined): string {
  return b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : 'n/a';
}

function verdict(value: number, aim: number, higherIsBetter = true): string {
  if (!Number.isFinite(value)) return 'n/a';
  return (higherIsBetter ? value >= aim : value < aim) ? 'PASS' : 'BELOW';
}

function med(values: readonly number[]): number {
  return summarize(values.filter(Number.isFinite)).median;
}

function checkSummary(c: CaseResult): string {
  const totals = { lost: 0, dup: 0, out_of_order: 0, foreign: 0, consume_errors: 0 };
  let parsed = 0;
  for (const v of c.verdicts) {
    const m = /lost=(\d+) dup=(\d+) out_of_order=(\d+) foreign=(\d+) consume_errors=(\d+)/.exec(v);
    if (!m) continue;
    parsed++;
    totals.lost += Number(m[1]);
    totals.dup += Number(m[2]);
    totals.out_of_order += Number(m[3]);
    totals.foreign += Number(m[4]);
    totals.consume_errors += Number(m[5]);
  }
  const ok = parsed === c.verdicts.length && c.failedRuns === 0 && Object.values(totals).every((n) => n === 0);
  return `${ok ? 'ok' : 'FAILED'} lost=${totals.lost} dup=${totals.dup} ooo=${totals.out_of_order} (${parsed}/${c.verdicts.length} runs)`;
}

async function main(): Promise<void> {
  const load = loadavg();
  const client = ensureConfluentKafka();
  const kernelVersion = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  console.log(`# bench:kafka date=${new Date().toISOString()} cores=${cpus().length} cpu="${cpus()[0]?.model ?? '?'}" ` +
    `mem_gib=${(totalmem() / 2 ** 30).toFixed(0)} kernel=${kernelVersion} node=${process.version}`);
  console.log(`# loadavg at start: ${load.map((l) => l.toFixed(2)).join(' ')} (figures are comparable only below ~1.5)`);
  console.log(`# client: ${PYTHON} ${client}; ${MESSAGES} x ${SIZE} B per run, ${REPS} runs per case; median min=.. max=.. n=..`);

  let copy: SharedCopy | undefined;
  let limits = new Map<string, Summary>();
  let peers = new Map<string, Summary>();
  const cases: CaseResult[] = [];
  let lat: LatencyResult | undefined;
  const workDir = tempDir('sluice-kafka-bench-');
  const work = workDir.path;
  const brokers: Broker[] = [];
  try {
    if (STEPS.has('limits') || STEPS.has('peers') || STEPS.has('sluice')) copy = copySharedBench();
    if (STEPS.has('limits')) {
      log(`limits.sh ONLY="node_disk net" REPS=${LIMITS_REPS} (about 1.5 min)`);
      const r = await runSharedScript(copy!, 'limits.sh',
        { ONLY: 'node_disk net', REPS: String(LIMITS_REPS), DISK_MIB: '256', NET_SECONDS: '3' }, 600_000);
      limits = r.figures;
      for (const l of r.context) console.log(l);
    }
    if (STEPS.has('peers')) {
      log(`peers.sh ONLY="nats redis" REPS=${PEERS_REPS} (about 1.5 min)`);
      const r = await runSharedScript(copy!, 'peers.sh', {
        ONLY: 'nats redis', REPS: String(PEERS_REPS), NATS_1K_COUNT: '200000', NATS_100B_COUNT: '20000',
        NATS_API_COUNT: '5000', REDIS_N: '500000', MAX_SECONDS: '15',
      }, 600_000);
      peers = r.figures;
      for (const l of r.context) console.log(l);
    }
    const loadScript = join(work, 'kafka-client-load.py');
    if (copy) copyFileSync(join(copy.dir, 'kafka-client-load.py'), loadScript);

    for (const fsync of [true, false]) {
      const wantSluice = STEPS.has('sluice');
      const wantLatency = STEPS.has('latency') && fsync;
      if (!wantSluice && !wantLatency) continue;
      const broker = await startBroker({ 'log.write.caching': String(!fsync) }, BROKER_NODE_ARGS);
      brokers.push(broker);
      log(`broker pid ${broker.pid} on ${broker.bootstrap}, log.write.caching=${!fsync}`);
      if (wantSluice) {
        if (!existsSync(loadScript)) throw new Error('kafka-client-load.py was not copied');
        for (const partitions of PARTITIONS) {
          for (const acks of ACKS) {
            const c: CaseResult = {
              fsync, partitions, acks, produceMib: [], produceMsgs: [], produceClientCpu: [], produceBrokerCpu: [],
              consumeMib: [], consumeMsgs: [], consumeClientCpu: [], consumeBrokerCpu: [], verdicts: [], failedRuns: 0,
            };
            cases.push(c);
            for (let r = 0; r < REPS; r++) await produceAndConsume(broker, loadScript, c);
          }
        }
      }
      if (wantLatency) {
        log(`latency: ${LAT_RATE} msgs/s, ${LAT_WARMUP_SECONDS} s warm-up + ${LAT_SECONDS} s, acks=all, fsync`);
        lat = await latency(broker, work);
      }
      await broker.stop();
      brokers.splice(brokers.indexOf(broker), 1);
      if (/ ERROR /.test(broker.output())) log(`broker logged errors:\n${broker.output().split('\n').filter((l) => / ERROR /.test(l)).slice(0, 5).join('\n')}`);
    }
  } finally {
    for (const b of brokers) await b.stop();
    copy?.remove();
    workDir.remove();
  }

  report(cases, limits, peers, lat, load);
}

function report(cases: readonly CaseResult[], limits: Map<string, Summary>, peers: Map<string, Summary>,
  lat: LatencyResult | undefined, load: number[]): void {
  const L = (name: string): number | undefined => limits.get(name)?.median;
  const P = (name: string): number | undefined => peers.get(name)?.median;
  const ceilSync = L('node_fs_write_1m_fdatasync_every_1m_cold_mib_per_s');
  const ceilSyncWarm = L('node_fs_write_1m_fdatasync_every_1m_warm_mib_per_s');
  const ceilNoSync = L('node_fs_write_1m_nosync_cold_mib_per_s');
  const ceilNoSyncWarm = L('node_fs_write_1m_nosync_warm_mib_per_s');
  const ceilNet = L('node_net_sink_64k_mib_per_s');
  const natsPub = P('nats_js_1k_pub_mib_per_s');
  const natsSub = P('nats_js_1k_sub_mib_per_s');
  const redisNoPersist = P('redis_nopersist_xadd_100b_msgs_per_s');
  const redisAof = P('redis_aof_everysec_xadd_100b_msgs_per_s');

  console.log('');
  console.log('# figures (median min=.. max=.. n=..)');
  for (const c of cases) {
    const n = caseName(c);
    const line = (what: string, values: number[], digits = 0): void => {
      console.log(`sluice_${n}_${what} ${fmtSummary(summarize(values.filter(Number.isFinite)), digits)}`);
    };
    line('produce_mib_per_s', c.produceMib, 1);
    line('produce_msgs_per_s', c.produceMsgs);
    line('produce_client_cpu_pct', c.produceClientCpu);
    line('produce_broker_cpu_pct', c.produceBrokerCpu);
    line('consume_mib_per_s', c.consumeMib, 1);
    line('consume_msgs_per_s', c.consumeMsgs);
    line('consume_client_cpu_pct', c.consumeClientCpu);
    line('consume_broker_cpu_pct', c.consumeBrokerCpu);
  }
  if (lat) for (const [k, v] of lat.values) console.log(`sluice_${k} ${fmt(v)}`);
  for (const [name, s] of [...limits, ...peers]) {
    if (/_mib_per_s$|_msgs_per_s$|_cpu_pct$|_p99_us$/.test(name)) console.log(`${name} ${fmtSummary(s, s.median < 10 ? 2 : 0)}`);
  }

  const aims: string[] = [];
  console.log('');
  console.log('## Produce, 1 KiB messages (ratios are Sluice / other, medians from this run)');
  console.log('');
  console.log('| case | MiB/s | msgs/s | client CPU % | broker CPU % | / append ceiling (cold; warm) | / NATS JS publish | / Redis XADD msgs/s | aim | check |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of cases) {
    const mib = med(c.produceMib);
    const msgs = med(c.produceMsgs);
    const ceil = c.fsync ? ceilSync : ceilNoSync;
    const ceilWarm = c.fsync ? ceilSyncWarm : ceilNoSyncWarm;
    const redis = c.fsync ? redisAof : redisNoPersist;
    let aim = '';
    if (c.fsync && c.acks === 'all') {
      const a1 = verdict(ceil !== undefined ? mib / ceil : NaN, AIM.durableVsCeiling);
      const a2 = verdict(natsPub !== undefined ? mib / natsPub : NaN, AIM.durableVsNats + 1e-9);
      aim = `≥ ${AIM.durableVsCeiling} ceiling: ${a1}; > NATS: ${a2}`;
      aims.push(`acks=all, fdatasync, ${c.partitions} partition(s): ${ratio(mib, ceil)} of the fdatasync-append ceiling (aim ≥ ${AIM.durableVsCeiling}) ${a1}; ${ratio(mib, natsPub)}x NATS JetStream (aim > 1) ${a2}`);
    } else if (!c.fsync && c.acks === '1') {
      const a = verdict(natsPub !== undefined ? mib / natsPub : NaN, AIM.noSyncVsNats);
      aim = `≥ ${AIM.noSyncVsNats}x NATS: ${a}`;
      aims.push(`acks=1, no fsync, ${c.partitions} partition(s): ${ratio(mib, natsPub)}x NATS JetStream (aim ≥ ${AIM.noSyncVsNats}) ${a}`);
    }
    console.log(`| ${c.fsync ? 'fdatasync' : 'no fsync'}, ${c.partitions} part., acks=${c.acks} | ${fmt(mib, 1)} | ${fmt(msgs)} | ` +
      `${fmt(med(c.produceClientCpu))} | ${fmt(med(c.produceBrokerCpu))} | ${ratio(mib, ceil)}; ${ratio(mib, ceilWarm)} | ` +
      `${ratio(mib, natsPub)} | ${ratio(msgs, redis)} | ${aim} | ${checkSummary(c)} |`);
  }
  console.log('');
  console.log('## Consume from page cache (the topics produced above)');
  console.log('');
  console.log('| produced with | MiB/s | msgs/s | client CPU % | broker CPU % | / loopback Node net sink | / NATS JS consume | aim |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of cases) {
    const mib = med(c.consumeMib);
    const a = verdict(natsSub !== undefined ? mib / natsSub : NaN, AIM.consumeVsNats);
    aims.push(`consume (${c.fsync ? 'fdatasync' : 'no fsync'}, ${c.partitions} part., acks=${c.acks}): ${ratio(mib, natsSub)}x NATS JetStream consume (aim ≥ ${AIM.consumeVsNats}) ${a}`);
    console.log(`| ${c.fsync ? 'fdatasync' : 'no fsync'}, ${c.partitions} part., acks=${c.acks} | ${fmt(mib, 1)} | ${fmt(med(c.consumeMsgs))} | ` +
      `${fmt(med(c.consumeClientCpu))} | ${fmt(med(c.consumeBrokerCpu))} | ${ratio(mib, ceilNet)} | ${ratio(mib, natsSub)} | ≥ ${AIM.consumeVsNats}x NATS: ${a} |`);
  }
  if (lat) {
    const v = lat.values;
    const p99 = v.get('latency_p99_us') ?? NaN;
    const a = lat.ok ? verdict(p99, AIM.p99Us, false) : 'FAILED';
    aims.push(`end-to-end p99 at ${LAT_RATE} msgs/s, acks=all, fdatasync: ${fmt(p99)} µs (aim < ${AIM.p99Us}) ${a}`);
    console.log('');
    console.log(`## End-to-end latency, ${LAT_RATE} msgs/s of 1 KiB, acks=all, fdatasync, 1 partition (${LAT_SECONDS} s after ${LAT_WARMUP_SECONDS} s warm-up)`);
    console.log('');
    console.log('| rate achieved | p50 µs | p99 µs | p99.9 µs | max µs | produce ack p50 / p99 µs | disk fdatasync of 10 KiB p50 / p99 µs | broker CPU % | lost | aim |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(`| ${fmt(v.get('latency_produce_msgs_per_s') ?? NaN)} | ${fmt(v.get('latency_p50_us') ?? NaN)} | ${fmt(p99)} | ` +
      `${fmt(v.get('latency_p999_us') ?? NaN)} | ${fmt(v.get('latency_max_us') ?? NaN)} | ${fmt(v.get('latency_ack_p50_us') ?? NaN)} / ` +
      `${fmt(v.get('latency_ack_p99_us') ?? NaN)} | ${fmt(lat.syncP50Us)} / ${fmt(lat.syncP99Us)} | ${fmt(lat.brokerCpu)} | ${fmt(v.get('latency_lost') ?? NaN)} | p99 < ${AIM.p99Us} µs: ${a} |`);
  }
  console.log('');
  console.log('## Peers and ceilings used above (same run)');
  console.log('');
  const show = (label: string, s: Summary | undefined, unit: string): void => {
    console.log(`| ${label} | ${s ? `${fmt(s.median, s.median < 10 ? 2 : 0)} (${fmt(s.min, s.min < 10 ? 2 : 0)}–${fmt(s.max, s.max < 10 ? 2 : 0)})` : 'n/a'} ${unit} |`);
  };
  console.log('| figure | median (min–max) |');
  console.log('| --- | --- |');
  show('Node append 1 MiB, no sync, cold', limits.get('node_fs_write_1m_nosync_cold_mib_per_s'), 'MiB/s');
  show('Node append 1 MiB, no sync, warm', limits.get('node_fs_write_1m_nosync_warm_mib_per_s'), 'MiB/s');
  show('Node append 1 MiB, fdatasync every 1 MiB, cold', limits.get('node_fs_write_1m_fdatasync_every_1m_cold_mib_per_s'), 'MiB/s');
  show('Node append 1 MiB, fdatasync every 1 MiB, warm', limits.get('node_fs_write_1m_fdatasync_every_1m_warm_mib_per_s'), 'MiB/s');
  show('loopback Node net sink 64 KiB', limits.get('node_net_sink_64k_mib_per_s'), 'MiB/s');
  show('loopback iperf3 1 stream', limits.get('iperf3_tcp_1stream_mib_per_s'), 'MiB/s');
  show('NATS JetStream publish 1 KiB, acked', peers.get('nats_js_1k_pub_mib_per_s'), 'MiB/s');
  show('NATS JetStream publish 1 KiB, server CPU', peers.get('nats_js_1k_pub_server_cpu_pct'), '%');
  show('NATS JetStream publish 1 KiB, client CPU', peers.get('nats_js_1k_pub_client_cpu_pct'), '%');
  show('NATS JetStream consume 1 KiB', peers.get('nats_js_1k_sub_mib_per_s'), 'MiB/s');
  show('NATS JetStream consume 1 KiB, client CPU', peers.get('nats_js_1k_sub_client_cpu_pct'), '%');
  show('Redis Streams XADD 100 B, no persistence', peers.get('redis_nopersist_xadd_100b_msgs_per_s'), 'msgs/s');
  show('Redis Streams XADD 100 B, AOF everysec', peers.get('redis_aof_everysec_xadd_100b_msgs_per_s'), 'msgs/s');
  console.log('');
  console.log('Redis figures are 100 B messages from a C load generator (redis-benchmark -P 64): compare msgs/s, not MiB/s.');
  console.log('');
  console.log('## Aims (informative; exit status 0)');
  for (const a of aims) console.log(`- ${a}`);
  console.log(`# loadavg at start ${load.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
