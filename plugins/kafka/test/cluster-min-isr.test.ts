/**
 * min.insync.replicas with real processes: acks=all is refused (NOT_ENOUGH_REPLICAS) once
 * the ISR is below min.insync.replicas, and with two of three nodes down it is not
 * acknowledged at all (refused or timed out: the survivor has no quorum to change the ISR
 * with); what was acknowledged before is all there once the nodes are back.
 */
import { expect, it } from 'vitest';
import { python } from './clients.js';
import { clusterPerFile } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TEST_TIMEOUT_MS = 600_000;
const FAILOVER_TIMEOUT_MS = 90_000;
/** Errors a producer may end with when acks=all cannot be satisfied: refused, or retried until its timeout. */
const UNSATISFIABLE = ['NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', '_MSG_TIMED_OUT', 'REQUEST_TIMED_OUT', '_TIMED_OUT'];

interface Report { error: number | null; error_name: string | null; partition: number; offset: number }

const cluster = clusterPerFile({ nodes: 3, overrides: { 'min.insync.replicas': '2' } }, TEST_TIMEOUT_MS);

async function partition0(topic: string): Promise<{ leader: number; replicas: number[]; isr: number[] }> {
  const t = (await cluster.metadata(undefined, [topic])).topics[0]!;
  if (t.errorCode !== 0) throw new Error(`topic ${topic}: error ${t.errorCode}`);
  const p = t.partitions.find((q) => q.partitionIndex === 0)!;
  return { leader: p.leaderId, replicas: p.replicaNodes, isr: [...p.isrNodes].sort() };
}

async function createSynced(topic: string, configs: string[] = []): Promise<{ leader: number; replicas: number[] }> {
  const create = await runSluice(cluster.bootstrap(), ['topics', 'create', topic, '--partitions', '1', '--replication-factor', '3',
    ...configs.flatMap((c) => ['--config', c])]);
  expect(create.code, create.stderr).toBe(0);
  return cluster.waitFor(`${topic}-0 in sync on 3 replicas`, async () => {
    const p = await partition0(topic);
    return p.leader > 0 && p.isr.length === 3 && p;
  }, FAILOVER_TIMEOUT_MS);
}

async function produce(topic: string, values: string[], timeoutMs: number): Promise<Report[]> {
  const out = await python<{ reports: Report[]; unflushed: number }>('confluent.py', 'produce', cluster.bootstrapServers(), {
    topic, messages: values.map((value) => ({ value, partition: 0 })), timeout_s: timeoutMs / 1000 + 10,
    config: { 'message.timeout.ms': timeoutMs, 'enable.idempotence': false, retries: 2147483647 },
  }, timeoutMs + 60_000);
  expect(out.unflushed).toBe(0);
  return out.reports;
}

async function consumeAll(topic: string): Promise<Map<number, string>> {
  const read = await python<{ records: Record<string, Array<[number, string, number]>> }>(
    'confluent.py', 'consume', cluster.bootstrapServers(), { topic, partitions: [0], timeout_s: 120 }, 180_000);
  return new Map(read.records['0']!.map(([offset, value]) => [offset, value]));
}

it('acks=all is refused with NOT_ENOUGH_REPLICAS once the ISR shrinks below min.insync.replicas', async () => {
  try {
    // min.insync.replicas=3 on the topic: losing one follower is enough.
    const { leader, replicas } = await createSynced('min-isr-3', ['min.insync.replicas=3']);
    const before = await produce('min-isr-3', ['a', 'b', 'c'], 10_000);
    expect(before.map((r) => r.error_name)).toEqual([null, null, null]);
    const follower = replicas.find((id) => id !== leader)!;
    await cluster.kill(follower, 'SIGKILL');
    await cluster.waitFor(`the ISR of min-isr-3-0 without node ${follower}`, async () => {
      const p = await partition0('min-isr-3');
      return p.isr.length === 2 && !p.isr.includes(follower);
    }, FAILOVER_TIMEOUT_MS);
    // `sluice produce` does not retry, so the broker's own answer shows (librdkafka retries it into a timeout).
    const refused = await runSluice(cluster.bootstrap(leader), ['produce', 'min-isr-3', '--acks', 'all', '--partition', '0'], 'd\n');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('NOT_ENOUGH_REPLICAS');
    await cluster.restart(follower);
    await cluster.waitFor('min-isr-3-0 back in sync on 3 replicas', async () => (await partition0('min-isr-3')).isr.length === 3, FAILOVER_TIMEOUT_MS);
    const log = await consumeAll('min-isr-3');
    for (const r of before) expect(log.get(r.offset)).toBe(['a', 'b', 'c'][before.indexOf(r)]);
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);

it('with two of three nodes down nothing is acknowledged, and nothing acknowledged before is lost', async () => {
  try {
    const { leader } = await createSynced('two-down');
    const values = Array.from({ length: 100 }, (_, i) => `v${i}`);
    const before = await produce('two-down', values, 10_000);
    expect(before.filter((r) => r.error !== null)).toEqual([]);

    // The leader survives; both followers go. Its ISR cannot shrink: the lone controller has no quorum.
    const others = cluster.nodes.filter((n) => n.running && n.nodeId !== leader).map((n) => n.nodeId);
    for (const id of others) await cluster.kill(id, 'SIGKILL');
    const during = await produce('two-down', ['x0', 'x1', 'x2'], 8_000);
    for (const r of during) {
      expect(r.error_name, `offset ${r.offset} acknowledged with two of three nodes down`).not.toBeNull();
      expect(UNSATISFIABLE).toContain(r.error_name);
    }

    for (const id of others) await cluster.restart(id);
    await cluster.waitFor('two-down-0 back in sync on 3 replicas', async () => {
      const p = await partition0('two-down');
      return p.leader > 0 && p.isr.length === 3;
    }, FAILOVER_TIMEOUT_MS);
    const log = await consumeAll('two-down');
    const lost = before.filter((r, i) => log.get(r.offset) !== values[i]);
    expect(lost, 'acknowledged records missing after the nodes came back').toEqual([]);
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);
