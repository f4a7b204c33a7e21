/**
 * Group coordinators move with partition leadership (issue #7 item 3), on real processes
 * with a real client: a confluent_kafka consumer in a group (clients/cluster_group.py,
 * enable.auto.commit=false, a synchronous commit after each batch) consumes about half of
 * a topic replicated on three nodes and commits; the group's coordinator (FindCoordinator,
 * which must be the leader of the group's __consumer_offsets partition) is SIGKILLed. A new
 * consumer in the same group must then find a coordinator on another node, resume exactly
 * at the committed offsets (no record before them, none missing after), consume to the end
 * and commit, and the offsets read back from the group must be the end offsets.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KafkaClient } from '../src/cli/client.js';
import { python } from './clients.js';
import { Cluster } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TOPIC = 'group-failover';
const GROUP = 'group-failover-g';
const PARTITIONS = 3;
const RECORDS = 600;
const FIRST_CONSUMER_RECORDS = RECORDS / 2;
const OFFSETS_TOPIC = '__consumer_offsets';
/** offsets.topic.num.partitions in the harness's defaults. */
const OFFSETS_PARTITIONS = 3;
const TEST_TIMEOUT_MS = 300_000;
const WAIT_TIMEOUT_MS = 60_000;
const CLIENT_TIMEOUT_S = 60;
const CLIENT_RUN_TIMEOUT_MS = 90_000;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 3 });
  try {
    await cluster.waitFor('3 brokers and a quorum leader', async () => {
      const s = await cluster.status();
      return s.brokers.length === 3 && s.quorum !== null && s.quorum.leaderId > 0;
    });
    const create = await runSluice(cluster.bootstrap(), ['topics', 'create', TOPIC, '--partitions', String(PARTITIONS), '--replication-factor', '3']);
    expect(create.code, create.stderr).toBe(0);
    await cluster.waitFor(`every partition of ${TOPIC} with a leader and ISR [1,2,3]`, async () => {
      const t = (await cluster.metadata(undefined, [TOPIC])).topics[0]!;
      return t.errorCode === 0 && t.partitions.length === PARTITIONS
        && t.partitions.every((p) => p.leaderId > 0 && [...p.isrNodes].sort().join() === '1,2,3');
    }, WAIT_TIMEOUT_MS);
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await cluster?.stop();
}, TEST_TIMEOUT_MS);

/** Java's String.hashCode, as Kafka hashes a group id onto a __consumer_offsets partition. */
function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs(hash) % partitions. */
const GROUP_PARTITION = (javaStringHashCode(GROUP) & 0x7fffffff) % OFFSETS_PARTITIONS;

/** The coordinator FindCoordinator names, asked of `nodeId`. */
async function findCoordinator(nodeId: number): Promise<number> {
  const client = new KafkaClient(cluster.bootstrap(nodeId));
  try {
    return await client.groupCoordinator(GROUP);
  } finally {
    client.close();
  }
}

/** The leader of the group's __consumer_offsets partition, as `nodeId` answers Metadata. */
async function offsetsPartitionLeader(nodeId: number): Promise<number> {
  const t = (await cluster.metadata(nodeId, [OFFSETS_TOPIC])).topics[0]!;
  if (t.errorCode !== 0) throw new Error(`${OFFSETS_TOPIC}: error ${t.errorCode}`);
  const p = t.partitions.find((q) => q.partitionIndex === GROUP_PARTITION);
  if (p === undefined) throw new Error(`${OFFSETS_TOPIC} has no partition ${GROUP_PARTITION}`);
  return p.leaderId;
}

/**
 * The group's coordinator once every running node agrees on it, it is the leader of the
 * group's __consumer_offsets partition, and `accept` holds for it.
 */
function settledCoordinator(what: string, accept: (nodeId: number) => boolean): Promise<number> {
  const seen: string[] = [];
  return cluster.waitFor(what, async () => {
    const running = cluster.nodes.filter((n) => n.running).map((n) => n.nodeId);
    const coordinators = await Promise.all(running.map(findCoordinator));
    const leaders = await Promise.all(running.map(offsetsPartitionLeader));
    seen.length = 0;
    seen.push(`FindCoordinator ${JSON.stringify(coordinators)}, ${OFFSETS_TOPIC}-${GROUP_PARTITION} leader ${JSON.stringify(leaders)}`);
    const c = coordinators[0]!;
    const agreed = coordinators.every((x) => x === c) && leaders.every((x) => x === c);
    return agreed && accept(c) && c;
  }, WAIT_TIMEOUT_MS).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (last seen: ${seen.join('; ')})`);
  });
}

interface ConsumeResult {
  readonly records: Array<[number, number, string]>;
  readonly committed: Record<string, number>;
  readonly commit_retries: number;
}

function consume(bootstrap: string, args: { maxRecords: number | null; ends?: Record<string, number> }): Promise<ConsumeResult> {
  return python<ConsumeResult>('cluster_group.py', 'consume', bootstrap, {
    topic: TOPIC, group: GROUP, max_records: args.maxRecords, ends: args.ends ?? {}, timeout_s: CLIENT_TIMEOUT_S,
  }, CLIENT_RUN_TIMEOUT_MS);
}

function committedOffsets(bootstrap: string): Promise<Record<string, number>> {
  return python<Record<string, number>>('cluster_group.py', 'committed', bootstrap, {
    topic: TOPIC, group: GROUP, partitions: [...Array(PARTITIONS).keys()], timeout_s: 30,
  }, CLIENT_RUN_TIMEOUT_MS);
}

/** Per partition, the offsets of `records` in the order they were consumed. */
function offsetsByPartition(records: ConsumeResult['records']): Map<number, number[]> {
  const by = new Map<number, number[]>();
  for (const [p, offset] of records) by.set(p, [...(by.get(p) ?? []), offset]);
  return by;
}

it('a group resumes from its committed offsets after its coordinator is SIGKILLed', async () => {
  try {
    // N records, acks=all, round-robin: partition p holds "p:0" .. "p:(N/P - 1)" at offsets 0 ..
    const produced = await python<{ acked: number; error_count: number; errors: string[]; unflushed: number }>(
      'confluent.py', 'produce-seq', cluster.bootstrapServers(), { topic: TOPIC, partitions: PARTITIONS, count: RECORDS, timeout_s: 60 },
      CLIENT_RUN_TIMEOUT_MS);
    expect(produced, JSON.stringify(produced.errors)).toMatchObject({ acked: RECORDS, error_count: 0, unflushed: 0 });
    const ends: Record<string, number> = {};
    for (let p = 0; p < PARTITIONS; p++) ends[String(p)] = RECORDS / PARTITIONS;

    // 1. The first consumer takes about half and commits each batch.
    const first = await consume(cluster.bootstrapServers(), { maxRecords: FIRST_CONSUMER_RECORDS });
    expect(first.records.length).toBe(FIRST_CONSUMER_RECORDS);
    const committedBefore: Record<string, number> = {};
    for (const [p, offsets] of offsetsByPartition(first.records)) {
      // Each partition read from its start, in order, with nothing skipped.
      expect(offsets, `partition ${p}`).toEqual(offsets.map((_, i) => i));
      committedBefore[String(p)] = offsets.length;
    }
    expect(first.committed).toEqual(committedBefore);
    // Half of the records cannot be whole partitions: some partition resumes mid-way.
    expect(Object.values(committedBefore).some((o) => o > 0 && o < RECORDS / PARTITIONS), JSON.stringify(committedBefore)).toBe(true);
    // The group's offsets as the coordinator answers them (-1001: nothing committed for the partition).
    const readBefore = await committedOffsets(cluster.bootstrapServers());
    for (let p = 0; p < PARTITIONS; p++) expect(readBefore[String(p)], `partition ${p}`).toBe(committedBefore[String(p)] ?? -1001);

    // 2. The coordinator (the leader of the group's __consumer_offsets partition) dies.
    const oldCoordinator = await settledCoordinator('the group coordinator', () => true);
    await cluster.kill(oldCoordinator, 'SIGKILL');
    const newCoordinator = await settledCoordinator(`a group coordinator other than node ${oldCoordinator}`, (c) => c !== oldCoordinator);
    expect(newCoordinator).not.toBe(oldCoordinator);
    expect(cluster.node(newCoordinator).running).toBe(true);

    // 3. A new consumer in the group resumes exactly where the first one committed.
    const second = await consume(cluster.bootstrapServers(), { maxRecords: null, ends });
    const resumed = offsetsByPartition(second.records);
    for (let p = 0; p < PARTITIONS; p++) {
      const from = committedBefore[String(p)] ?? 0;
      const expected = Array.from({ length: ends[String(p)]! - from }, (_, i) => from + i);
      expect(resumed.get(p) ?? [], `partition ${p}: resumed from committed offset ${from}`).toEqual(expected);
    }
    for (const [p, offset, value] of second.records) expect(value).toBe(`${p}:${offset}`);
    expect(second.committed).toEqual(Object.fromEntries(Object.entries(ends).filter(([p]) => resumed.has(Number(p)))));

    // 4. The group's committed offsets, read back from its new coordinator, are the end offsets.
    expect(await committedOffsets(cluster.bootstrapServers())).toEqual(ends);
    expect(await settledCoordinator(`the group coordinator, still not node ${oldCoordinator}`, (c) => c !== oldCoordinator)).toBe(newCoordinator);
    console.log(`cluster-groups: coordinator of ${GROUP} (${OFFSETS_TOPIC}-${GROUP_PARTITION}) moved from node ${oldCoordinator} to node ${newCoordinator}; `
      + `resumed from ${JSON.stringify(committedBefore)} to ${JSON.stringify(ends)}, commit retries ${first.commit_retries}+${second.commit_retries}`);
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);
