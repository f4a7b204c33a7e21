/**
 * Failover with real processes and a real client: a confluent_kafka producer writes
 * acks=all to a partition replicated on three nodes while the partition's leader is
 * SIGKILLed, and later the active controller. The producer must keep getting
 * acknowledgements after each failover, every acknowledged record must be in the log at
 * the offset it was acknowledged with, and the killed nodes, restarted, must rejoin the ISR.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { python } from './clients.js';
import { Cluster, startProducer, type BackgroundProducer } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TOPIC = 'failover';
const TEST_TIMEOUT_MS = 600_000;
/** Acknowledgements to see before a kill, and again after it, as proof the producer goes on. */
const ACKS_PER_PHASE = 300;
const FAILOVER_TIMEOUT_MS = 90_000;

let cluster: Cluster;
let producer: BackgroundProducer | undefined;

beforeAll(async () => {
  cluster = await Cluster.startFormed({ nodes: 3 });
  const create = await runSluice(cluster.bootstrap(), ['topics', 'create', TOPIC, '--partitions', '1', '--replication-factor', '3']);
  expect(create.code, create.stderr).toBe(0);
  await waitForFullIsr();
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await producer?.stop().catch(() => undefined);
  await cluster?.stop();
}, TEST_TIMEOUT_MS);

async function partition0(): Promise<{ leader: number; isr: number[] }> {
  const t = (await cluster.metadata(undefined, [TOPIC])).topics[0]!;
  if (t.errorCode !== 0) throw new Error(`topic ${TOPIC}: error ${t.errorCode}`);
  const p = t.partitions.find((q) => q.partitionIndex === 0)!;
  return { leader: p.leaderId, isr: [...p.isrNodes].sort() };
}

function waitForFullIsr(): Promise<unknown> {
  return cluster.waitFor(`${TOPIC}-0 with a leader and ISR [1,2,3]`, async () => {
    const p = await partition0();
    return p.leader > 0 && p.isr.join() === '1,2,3';
  }, FAILOVER_TIMEOUT_MS);
}

function waitForAcks(count: number, what: string): Promise<unknown> {
  return cluster.waitFor(`${count} acknowledgements (${what}); failures: ${producer!.failures.slice(-5).join('; ')}`,
    () => producer!.acks.length >= count, FAILOVER_TIMEOUT_MS);
}

async function activeController(): Promise<number> {
  return cluster.waitFor('an active controller', async () => {
    const s = await cluster.status();
    return s.quorum !== null && s.quorum.leaderId > 0 && s.quorum.leaderId;
  });
}

it('acks=all writes survive SIGKILL of the partition leader and of the active controller', async () => {
  try {
    producer = startProducer(cluster.bootstrapServers(), { topic: TOPIC, partitions: 1, ratePerS: 200 });
    await waitForAcks(ACKS_PER_PHASE, 'before any kill');

    // 1. The partition leader dies.
    const leader = (await partition0()).leader;
    await cluster.kill(leader, 'SIGKILL');
    const acksAtLeaderKill = producer.acks.length;
    await cluster.waitFor(`a new leader for ${TOPIC}-0`, async () => {
      const p = await partition0();
      return p.leader > 0 && p.leader !== leader;
    }, FAILOVER_TIMEOUT_MS);
    await waitForAcks(acksAtLeaderKill + ACKS_PER_PHASE, `after killing partition leader ${leader}`);
    await cluster.restart(leader);
    await waitForFullIsr();

    // 2. The active controller dies (a quorum of two remains).
    const controller = await activeController();
    await cluster.kill(controller, 'SIGKILL');
    const acksAtControllerKill = producer.acks.length;
    await cluster.waitFor('a new active controller', async () => {
      const s = await cluster.status();
      return s.quorum !== null && s.quorum.leaderId > 0 && s.quorum.leaderId !== controller;
    }, FAILOVER_TIMEOUT_MS);
    await waitForAcks(acksAtControllerKill + ACKS_PER_PHASE, `after killing controller ${controller}`);
    await cluster.restart(controller);
    await waitForFullIsr();
    await waitForAcks(producer.acks.length + ACKS_PER_PHASE, 'after both nodes rejoined');

    const counts = await producer.stop();
    expect(counts.unflushed).toBe(0);
    const acks = producer.acks;
    expect(acks.length).toBe(counts.acked);

    // Every acknowledged record is in the log, at the offset it was acknowledged with.
    const read = await python<{ ends: Record<string, number>; records: Record<string, Array<[number, string, number]>> }>(
      'confluent.py', 'consume', cluster.bootstrapServers(), { topic: TOPIC, partitions: [0], timeout_s: 120 }, 180_000);
    const byOffset = new Map(read.records['0']!.map(([offset, value]) => [offset, value]));
    const missing = acks.filter((a) => byOffset.get(a.offset) !== a.value);
    expect(missing.slice(0, 20), `${missing.length} of ${acks.length} acknowledged records are not in the log as acknowledged`).toEqual([]);
    // The idempotent producer's retries across the failovers wrote nothing twice.
    const values = read.records['0']!.map(([, value]) => value);
    expect(new Set(values).size).toBe(values.length);

    // After both restarts the cluster is whole again.
    const status = await cluster.status();
    expect(status.brokers.map((b) => b.id)).toEqual([1, 2, 3]);
    expect(status.partitions.underReplicated.filter((p) => p.topic === TOPIC)).toEqual([]);
  } catch (e) {
    throw cluster.explain(`${(e as Error).message}\nproducer stderr:\n${producer?.stderr().slice(-4000)}`);
  }
}, TEST_TIMEOUT_MS);
