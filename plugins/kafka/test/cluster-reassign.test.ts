/**
 * Partition reassignment on real processes, as an operator runs it with
 * `sluice partitions reassign` (kafka-reassign-partitions.sh's JSON file): a partition with
 * one replica on node 1 and data in it moves to nodes 2 and 3. The move completes
 * (--verify), the new replicas hold every record and one of them leads, and node 1 no
 * longer has the partition's directory. The new replicas copy the data under the leader and
 * follower replication throttles (the topic lists every replica as throttled). A move the
 * throttle keeps in progress is listed, then cancelled: the partition goes back to its
 * replica and the replica that was being added drops its copy.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KafkaClient } from '../src/cli/client.js';
import { ApiKey } from '../src/protocol/index.js';
import { Cluster } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TEST_TIMEOUT_MS = 300_000;
const TOPIC = 'moved';
const RECORDS = 300;
/** follower. and leader.replication.throttled.rate: the data (about 70 KB) takes a few fills of the buckets. */
const THROTTLE_BYTES_PER_S = 32 * 1024;

let cluster: Cluster;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'sluice-reassign-'));
  cluster = await Cluster.startFormed({ nodes: 3, overrides: {
    'follower.replication.throttled.rate': String(THROTTLE_BYTES_PER_S), 'leader.replication.throttled.rate': String(THROTTLE_BYTES_PER_S),
  } });
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await cluster?.stop();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
}, TEST_TIMEOUT_MS);

/** A topic with one partition whose only replica is on `brokerId`, every replica throttled. */
async function createOnOneBroker(name: string, brokerId: number): Promise<void> {
  const client = new KafkaClient(cluster.bootstrap(1));
  try {
    const created = await client.request(ApiKey.CreateTopics, {
      topics: [{
        name, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [brokerId] }],
        // min.insync.replicas 1 so that acks=all fits one replica.
        configs: [{ name: 'min.insync.replicas', value: '1' }, { name: 'follower.replication.throttled.replicas', value: '*' },
          { name: 'leader.replication.throttled.replicas', value: '*' }],
      }],
      timeoutMs: 30_000, validateOnly: false,
    });
    expect(created.topics[0]!.errorCode, created.topics[0]!.errorMessage ?? '').toBe(0);
  } finally {
    client.close();
  }
  await cluster.waitFor(`${name} led by node ${brokerId}`, async () => {
    const t = (await cluster.metadata(1, [name])).topics[0]!;
    return t.errorCode === 0 && t.partitions[0]?.leaderId === brokerId;
  });
}

/** Directories named `name` anywhere under `dir`. */
function findDirs(dir: string, name: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (!e.isDirectory()) return [];
    const path = join(dir, e.name);
    return e.name === name ? [path] : findDirs(path, name);
  });
}

it('moves a one-replica partition from node 1 to nodes 2 and 3 with its data', async () => {
  try {
    await createOnOneBroker(TOPIC, 1);
    const values = Array.from({ length: RECORDS }, (_, i) => `v${i}-${'x'.repeat(200)}`);
    const produce = await runSluice(cluster.bootstrap(1), ['produce', TOPIC, '--acks', 'all'], `${values.join('\n')}\n`);
    expect(produce.code, produce.stderr).toBe(0);
    expect(findDirs(cluster.node(1).dataDir, `${TOPIC}-0`)).toHaveLength(1);

    const file = join(scratch, 'reassign.json');
    writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic: TOPIC, partition: 0, replicas: [2, 3] }] }));
    const execute = await runSluice(cluster.bootstrap(2), ['partitions', 'reassign', '--reassignment-json-file', file, '--execute']);
    expect(execute.code, execute.stderr).toBe(0);
    expect(execute.stdout).toContain(`{"version":1,"partitions":[{"topic":"${TOPIC}","partition":0,"replicas":[1]}]}`);
    expect(execute.stdout).toContain(`Successfully started partition reassignment for ${TOPIC}-0`);

    const verified = await cluster.waitFor('--verify to report the move completed', async () => {
      const verify = await runSluice(cluster.bootstrap(3), ['partitions', 'reassign', '--reassignment-json-file', file, '--verify']);
      return verify.code === 0 && verify.stdout;
    });
    expect(verified).toContain(`Reassignment of partition ${TOPIC}-0 is completed.`);
    const list = await runSluice(cluster.bootstrap(1), ['partitions', 'reassign', '--list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe('No partition reassignments found.\n');

    const partition = await cluster.waitFor('every node to see the new replicas in sync', async () => {
      const seen = await Promise.all([1, 2, 3].map(async (id) => (await cluster.metadata(id, [TOPIC])).topics[0]!.partitions[0]!));
      return seen.every((p) => p.replicaNodes.join() === '2,3' && [...p.isrNodes].sort().join() === '2,3' && [2, 3].includes(p.leaderId)) && seen[0];
    });
    const leader = partition.leaderId;

    // Every record from the new leader, and from the other new replica once it leads.
    const readFrom = async (): Promise<string[]> => {
      const consume = await runSluice(cluster.bootstrap(leader), ['consume', TOPIC, '--from-beginning', '--max-messages', String(RECORDS), '--timeout-ms', '20000']);
      expect(consume.code, consume.stderr).toBe(0);
      return consume.stdout.trimEnd().split('\n');
    };
    expect(await readFrom()).toEqual(values);

    await cluster.waitFor(`node 1 to drop ${TOPIC}-0's directory`, () => findDirs(cluster.node(1).dataDir, `${TOPIC}-0`).length === 0);
    expect(findDirs(cluster.node(2).dataDir, `${TOPIC}-0`)).toHaveLength(1);
    expect(findDirs(cluster.node(3).dataDir, `${TOPIC}-0`)).toHaveLength(1);

    // Cancelling a move that already completed changes nothing and is not an error.
    const cancel = await runSluice(cluster.bootstrap(1), ['partitions', 'reassign', '--reassignment-json-file', file, '--cancel']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect((await cluster.metadata(1, [TOPIC])).topics[0]!.partitions[0]!.replicaNodes).toEqual([2, 3]);
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);

it('lists a move in progress and cancels it: the partition keeps its replica, the added one drops its copy', async () => {
  const topic = 'stays';
  // Far more than the throttles let through while the move is listed and cancelled (a minute of the rate).
  const bytes = 60 * THROTTLE_BYTES_PER_S;
  const recordBytes = 1024;
  try {
    await createOnOneBroker(topic, 1);
    const lines = Array.from({ length: bytes / recordBytes }, (_, i) => `${i}-`.padEnd(recordBytes, 'y'));
    const produce = await runSluice(cluster.bootstrap(1), ['produce', topic, '--acks', 'all'], `${lines.join('\n')}\n`);
    expect(produce.code, produce.stderr).toBe(0);

    const file = join(scratch, 'stays.json');
    writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [1, 2] }] }));
    const execute = await runSluice(cluster.bootstrap(1), ['partitions', 'reassign', '--reassignment-json-file', file, '--execute']);
    expect(execute.code, execute.stderr).toBe(0);
    const list = await runSluice(cluster.bootstrap(3), ['partitions', 'reassign', '--list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`${topic}-0: replicas: 1,2. adding: 2. removing: .`);
    const verify = await runSluice(cluster.bootstrap(3), ['partitions', 'reassign', '--reassignment-json-file', file, '--verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`Reassignment of partition ${topic}-0 is still in progress.`);

    const cancel = await runSluice(cluster.bootstrap(2), ['partitions', 'reassign', '--reassignment-json-file', file, '--cancel']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`Successfully cancelled partition reassignment for ${topic}-0`);
    await cluster.waitFor('every node to see the partition back on node 1 alone', async () => {
      const seen = await Promise.all([1, 2, 3].map(async (id) => (await cluster.metadata(id, [topic])).topics[0]!.partitions[0]!));
      return seen.every((p) => p.replicaNodes.join() === '1' && p.leaderId === 1);
    });
    await cluster.waitFor(`node 2 to drop ${topic}-0's directory`, () => findDirs(cluster.node(2).dataDir, `${topic}-0`).length === 0);
    expect((await runSluice(cluster.bootstrap(1), ['partitions', 'reassign', '--list'])).stdout).toBe('No partition reassignments found.\n');
    const consume = await runSluice(cluster.bootstrap(1), ['consume', topic, '--from-beginning', '--max-messages', String(lines.length), '--timeout-ms', '20000']);
    expect(consume.code, consume.stderr).toBe(0);
    expect(consume.stdout.trimEnd().split('\n')).toEqual(lines);
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);
