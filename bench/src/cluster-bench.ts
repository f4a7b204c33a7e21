/**
 * `npm run bench:cluster`: what replication costs and how long a failover stops writes, on
 * real processes over loopback, with librdkafka (bench/py/cluster_produce.py) as the client.
 *
 * 1. Throughput: CLUSTER_REPS times, a fresh single-partition topic, CLUSTER_MESSAGES records
 *    of CLUSTER_SIZE bytes, acks=all with idempotence, one producer: on a 1-node cluster
 *    (replication factor 1), then on a 3-node cluster (replication factor 3,
 *    min.insync.replicas=2), alternating. Reported: msgs/s, MiB/s, the RF3/RF1 ratio of the
 *    medians and the median of each rep's RF3/RF1 ratio, and
 *    the producer's own p50/p99 delivery latency (under full load, so mostly the client's
 *    queue), then p50/p99 at a light FAILOVER_RATE records/s (LATENCY_RECORDS records, no queue).
 * 2. Failover, on the 3-node cluster: one producer sends FAILOVER_RATE records/s of 100
 *    bytes, acks=all, to an RF-3 partition. FAILOVER_REPS times: SIGKILL the partition's
 *    leader, and measure from the kill to the first acknowledgement of a record produced
 *    after the kill (one produced before could have been acknowledged by the dying leader);
 *    restart the node and wait for a full ISR. Then the same killing the active controller
 *    (the metadata quorum's leader), noting when it also led the partition.
 * 3. Restart with many partitions, on the 3-node cluster: a topic of RESTART_PARTITIONS
 *    partitions, replication factor 3; RESTART_REPS times, SIGTERM a node that is not the
 *    active controller, start it again and measure from the start to its `started` line and
 *    to no under-replicated partition left (`sluice cluster status`).
 *
 * Failure detection uses the broker's defaults unless CLUSTER_FAST=1, which sets the
 * shortened timeouts the integration tests use; the settings are printed with the results.
 *
 * Knobs (environment): CLUSTER_REPS (3), CLUSTER_MESSAGES (50000), CLUSTER_SIZE (1024),
 * FAILOVER_REPS (3), FAILOVER_RATE (200), LATENCY_RECORDS (2000), CLUSTER_FAST (0),
 * RESTART_PARTITIONS (100), RESTART_REPS (3).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BenchCluster } from './bench-cluster.js';
import { nameValues, REPO_ROOT, run } from './processes.js';
import { fmt, fmtSummary, percentile, summarize } from './stats.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

const REPS = envInt('CLUSTER_REPS', 3);
const MESSAGES = envInt('CLUSTER_MESSAGES', 50_000);
const SIZE = envInt('CLUSTER_SIZE', 1024);
const FAILOVER_REPS = envInt('FAILOVER_REPS', 3);
const FAILOVER_RATE = envInt('FAILOVER_RATE', 200);
const FAILOVER_SIZE = 100;
const LATENCY_RECORDS = envInt('LATENCY_RECORDS', 2000);
const RESTART_PARTITIONS = envInt('RESTART_PARTITIONS', 100);
const RESTART_REPS = envInt('RESTART_REPS', 3);
/** Records left out of the light-load percentiles: connection set-up and the first metadata. */
const LATENCY_WARMUP_RECORDS = 200;
const FAST = envInt('CLUSTER_FAST', 0) === 1;
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(REPO_ROOT, 'bench/py/cluster_produce.py');
const MAIN = join(REPO_ROOT, 'kernel/dist/cli/main.js');
const RUN_TIMEOUT_MS = 600_000;
const CLI_TIMEOUT_MS = 30_000;
const WAIT_TIMEOUT_MS = 120_000;
const POLL_INTERVAL_MS = 250;

/** The integration tests' failure detection (plugins/kafka/test/cluster-process.ts). */
const FAST_DETECTION: Readonly<Record<string, string>> = {
  'controller.quorum.election.timeout.ms': '1000',
  'controller.quorum.fetch.timeout.ms': '2000',
  'broker.heartbeat.interval.ms': '500',
  'broker.session.timeout.ms': '4000',
  'replica.lag.time.max.ms': '5000',
};
const COMMON: Readonly<Record<string, string>> = {
  'offsets.topic.num.partitions': '3',
  'transaction.state.log.num.partitions': '3',
  ...(FAST ? FAST_DETECTION : {}),
};

async function sluice(bootstrap: string, args: readonly string[]): Promise<string> {
  const r = await run(process.execPath, [MAIN, ...args, '--bootstrap-server', bootstrap], { timeoutMs: CLI_TIMEOUT_MS });
  if (r.code !== 0) throw new Error(`sluice ${args.join(' ')} exited with ${r.code}:\n${r.stderr.join('\n')}`);
  return r.stdout.join('\n');
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${lastError === undefined ? '' : `: ${String(lastError)}`}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

async function partition0(cluster: BenchCluster, topic: string): Promise<{ leader: number; isr: number[] }> {
  const r = await run(PYTHON, [SCRIPT, 'partition', '--bootstrap', cluster.bootstrapServers(), '--topic', topic], { timeoutMs: CLI_TIMEOUT_MS });
  const leader = r.stdout.find((l) => l.startsWith('leader '));
  const isr = r.stdout.find((l) => l.startsWith('isr '));
  if (r.code !== 0 || leader === undefined || isr === undefined) throw new Error(`partition metadata failed:\n${r.stderr.join('\n')}`);
  return { leader: Number(leader.slice(7)), isr: isr.slice(4).split(',').filter((s) => s !== '').map(Number) };
}

async function createTopic(cluster: BenchCluster, topic: string, rf: number): Promise<void> {
  const bootstrap = cluster.address(cluster.nodeIds[0]!);
  await sluice(bootstrap, ['topics', 'create', topic, '--partitions', '1', '--replication-factor', String(rf),
    '--config', `min.insync.replicas=${Math.min(rf, 2)}`]);
  await waitFor(`${topic}-0 in sync on ${rf} replicas`, async () => {
    const p = await partition0(cluster, topic);
    return p.leader > 0 && p.isr.length === rf;
  });
}

interface Throughput { msgs: number[]; mib: number[]; p50: number[]; p99: number[]; light: { p50: number; p99: number } }

function emptyThroughput(): Throughput {
  return { msgs: [], mib: [], p50: [], p99: [], light: { p50: NaN, p99: NaN } };
}

async function throughputRep(cluster: BenchCluster, rf: number, rep: number, into: Throughput): Promise<void> {
  const topic = `rf${rf}-${rep}`;
  await createTopic(cluster, topic, rf);
  const r = await run(PYTHON, [SCRIPT, 'throughput', '--bootstrap', cluster.bootstrapServers(), '--topic', topic,
    '--messages', String(MESSAGES), '--size', String(SIZE)], { timeoutMs: RUN_TIMEOUT_MS, echoStderr: true });
  const v = nameValues(r.stdout);
  if (r.code !== 0 || !v.has('msgs_per_s')) throw new Error(`throughput run failed (${r.code}):\n${r.stderr.join('\n')}`);
  into.msgs.push(v.get('msgs_per_s')!);
  into.mib.push(v.get('mib_per_s')!);
  into.p50.push(v.get('p50_ms')!);
  into.p99.push(v.get('p99_ms')!);
  console.log(`# rf${rf} rep ${rep}: ${v.get('msgs_per_s')} msgs/s, p50 ${v.get('p50_ms')} ms, p99 ${v.get('p99_ms')} ms`);
}

/**
 * acks=all latency without a queue in the client: the steady producer at FAILOVER_RATE,
 * produce() to delivery report. Under full load the figure above is mostly the client's
 * queue draining, not what one write costs.
 */
async function lightLoadLatency(cluster: BenchCluster, rf: number): Promise<{ p50: number; p99: number }> {
  const topic = `latency-rf${rf}`;
  await createTopic(cluster, topic, rf);
  const producer = steadyProducer(cluster.bootstrapServers(), topic);
  try {
    await waitFor(`${LATENCY_RECORDS} acknowledgements at ${FAILOVER_RATE} records/s`, async () => producer.acks.length >= LATENCY_RECORDS);
  } finally {
    await producer.stop();
  }
  const ms = producer.acks.slice(LATENCY_WARMUP_RECORDS).map(([produced, acked]) => Number(acked - produced) / 1e6).sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
}

/** The steady acks=all producer: acknowledgements as (produced, acknowledged) CLOCK_MONOTONIC nanoseconds. */
function steadyProducer(bootstrap: string, topic: string): { acks: Array<[bigint, bigint]>; failures: string[]; stop(): Promise<void> } {
  const child = spawn(PYTHON, [SCRIPT, 'steady', '--bootstrap', bootstrap, '--topic', topic, '--rate', String(FAILOVER_RATE),
    '--size', String(FAILOVER_SIZE)], { stdio: ['pipe', 'pipe', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  const acks: Array<[bigint, bigint]> = [];
  const failures: string[] = [];
  let stopping = false;
  const done = new Promise<void>((ok) => child.once('exit', (code) => {
    // Every measurement after this would wait for acknowledgements that cannot come.
    if (!stopping) {
      console.error(`cluster_produce.py steady exited with ${code} before it was stopped`);
      process.exit(1);
    }
    ok();
  }));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [kind, a, b] = line.split(' ');
    if (kind === 'ack') acks.push([BigInt(a!), BigInt(b!)]);
    else if (kind === 'fail') failures.push(line);
  });
  return {
    acks, failures,
    stop: async () => {
      stopping = true;
      child.stdin.end();
      await done;
    },
  };
}

async function activeController(cluster: BenchCluster): Promise<number> {
  return waitFor('an active controller', async () => {
    const bootstrap = cluster.address(cluster.nodeIds.find((id) => cluster.isRunning(id))!);
    const s = JSON.parse(await sluice(bootstrap, ['cluster', 'status', '--json'])) as { quorum: { leaderId: number } | null };
    return s.quorum !== null && s.quorum.leaderId > 0 && s.quorum.leaderId;
  });
}

interface Failover { victim: number; alsoPartitionLeader: boolean; ms: number }

async function failovers(cluster: BenchCluster, kind: 'partition leader' | 'controller'): Promise<Failover[]> {
  const topic = `failover-${kind === 'controller' ? 'controller' : 'leader'}`;
  await createTopic(cluster, topic, 3);
  const producer = steadyProducer(cluster.bootstrapServers(), topic);
  const out: Failover[] = [];
  try {
    await waitFor('the steady producer acknowledged', async () => producer.acks.length >= FAILOVER_RATE);
    for (let rep = 0; rep < FAILOVER_REPS; rep++) {
      await waitFor(`${topic}-0 in sync on 3 replicas`, async () => {
        const p = await partition0(cluster, topic);
        return p.leader > 0 && p.isr.length === 3;
      });
      const leader = (await partition0(cluster, topic)).leader;
      const victim = kind === 'controller' ? await activeController(cluster) : leader;
      const killedAt = process.hrtime.bigint();
      await cluster.kill(victim);
      const firstAck = await waitFor(`an acknowledgement of a record produced after killing node ${victim}`,
        async () => producer.acks.find(([produced]) => produced > killedAt)?.[1]);
      const ms = Number(firstAck - killedAt) / 1e6;
      out.push({ victim, alsoPartitionLeader: victim === leader, ms });
      console.log(`# ${kind} kill ${rep}: node ${victim}${kind === 'controller' && victim === leader ? ' (also the partition leader)' : ''}: ${fmt(ms)} ms`);
      await cluster.restart(victim);
    }
    await waitFor(`${topic}-0 in sync on 3 replicas`, async () => (await partition0(cluster, topic)).isr.length === 3);
  } finally {
    await producer.stop();
  }
  if (producer.failures.length > 0) console.log(`# ${kind}: ${producer.failures.length} deliveries failed, first: ${producer.failures[0]}`);
  return out;
}

interface Restart { node: number; startedMs: number; inSyncMs: number }

/** What `sluice cluster status` says is under-replicated, or undefined when it could not ask. */
async function underReplicated(cluster: BenchCluster): Promise<number | undefined> {
  const text = await sluice(cluster.address(cluster.nodeIds[0]!), ['cluster', 'status']).catch(() => undefined);
  const m = text === undefined ? null : /under-replicated (\d+)/.exec(text);
  return m === null ? undefined : Number(m[1]);
}

async function restarts(cluster: BenchCluster): Promise<Restart[]> {
  const topic = 'restart-many';
  await sluice(cluster.address(cluster.nodeIds[0]!), ['topics', 'create', topic, '--partitions', String(RESTART_PARTITIONS),
    '--replication-factor', '3']);
  const out: Restart[] = [];
  for (let rep = 0; rep < RESTART_REPS; rep++) {
    await waitFor('no under-replicated partition', async () => (await underReplicated(cluster)) === 0);
    const controller = await activeController(cluster);
    const node = cluster.nodeIds.filter((id) => id !== controller)[rep % (cluster.nodeIds.length - 1)]!;
    await cluster.kill(node, 'SIGTERM');
    const startedAt = process.hrtime.bigint();
    await cluster.restart(node);
    const startedMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
    await waitFor('no under-replicated partition', async () => (await underReplicated(cluster)) === 0);
    const inSyncMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
    out.push({ node, startedMs, inSyncMs });
    console.log(`# restart ${rep}: node ${node}: started after ${fmt(startedMs)} ms, every ISR full after ${fmt(inSyncMs)} ms`);
  }
  return out;
}

function printThroughput(name: string, t: Throughput): void {
  console.log(`${name}_msgs_per_s ${fmtSummary(summarize(t.msgs))}`);
  console.log(`${name}_mib_per_s ${fmtSummary(summarize(t.mib), 2)}`);
  console.log(`${name}_p50_ms ${fmtSummary(summarize(t.p50), 1)}`);
  console.log(`${name}_p99_ms ${fmtSummary(summarize(t.p99), 1)}`);
  console.log(`${name}_light_p50_ms ${fmt(t.light.p50, 2)}`);
  console.log(`${name}_light_p99_ms ${fmt(t.light.p99, 2)}`);
}

function printFailovers(name: string, f: readonly Failover[]): void {
  const each = f.map((x) => `${fmt(x.ms)}${x.alsoPartitionLeader && name.startsWith('controller') ? '*' : ''}`).join(' ');
  console.log(`${name}_failover_ms ${fmt(summarize(f.map((x) => x.ms)).median)} each=${each} victims=${f.map((x) => x.victim).join(',')}`);
}

async function main(): Promise<void> {
  const load0 = loadavg();
  // Both clusters run side by side and their reps alternate, so that the load other work puts
  // on the machine, which drifts over minutes, falls on both alike and the paired ratios hold.
  const one = await BenchCluster.start(1, { ...COMMON, 'offsets.topic.replication.factor': '1', 'transaction.state.log.replication.factor': '1' });
  const three = await BenchCluster.start(3, { ...COMMON, 'default.replication.factor': '3', 'min.insync.replicas': '2' });
  const rf1 = emptyThroughput();
  const rf3 = emptyThroughput();
  let leaderKills: Failover[];
  let controllerKills: Failover[];
  let nodeRestarts: Restart[];
  try {
    for (let rep = 0; rep < REPS; rep++) {
      await throughputRep(one, 1, rep, rf1);
      await throughputRep(three, 3, rep, rf3);
    }
    rf1.light = await lightLoadLatency(one, 1);
    rf3.light = await lightLoadLatency(three, 3);
    await one.stop();
    leaderKills = await failovers(three, 'partition leader');
    controllerKills = await failovers(three, 'controller');
    nodeRestarts = await restarts(three);
  } finally {
    await one.stop();
    await three.stop();
  }
  const load1 = loadavg();
  const detection = FAST ? Object.entries(FAST_DETECTION).map(([k, v]) => `${k}=${v}`).join(' ') : 'broker defaults';
  console.log(`# ${MESSAGES} records of ${SIZE} bytes, acks=all, idempotent, one librdkafka producer, one partition, ${REPS} reps`);
  console.log(`# failover: ${FAILOVER_RATE} records/s of ${FAILOVER_SIZE} bytes, acks=all; failure detection: ${detection}`);
  console.log(`# load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')}`);
  printThroughput('rf1', rf1);
  printThroughput('rf3', rf3);
  console.log(`rf3_over_rf1 ${fmt(summarize(rf3.msgs).median / summarize(rf1.msgs).median, 2)}`);
  const paired = rf3.msgs.map((m, i) => m / rf1.msgs[i]!);
  console.log(`rf3_over_rf1_paired ${fmtSummary(summarize(paired), 2)}`);
  printFailovers('partition_leader', leaderKills);
  printFailovers('controller', controllerKills);
  console.log('# * the killed controller also led the partition');
  console.log(`# restart: a ${RESTART_PARTITIONS}-partition topic of replication factor 3, the node SIGTERMed and started again`);
  console.log(`restart_to_started_ms ${fmtSummary(summarize(nodeRestarts.map((r) => r.startedMs)))}`);
  console.log(`restart_to_full_isr_ms ${fmtSummary(summarize(nodeRestarts.map((r) => r.inSyncMs)))}`);
}

await main();
