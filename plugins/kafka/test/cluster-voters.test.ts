/**
 * Changing the metadata quorum's voters in a running cluster (KIP-853), as an operator does
 * it with `sluice metadata quorum add-controller|remove-controller`: a fourth node with the
 * controller role starts as an observer of the metadata log (the quorum's bootstrap voters
 * are nodes 1-3), is added as a voter once caught up, and a voter is removed and stopped
 * (restarted with its old config, it only observes); the new quorum keeps committing
 * (topics, produce and consume with confluent_kafka), elects a leader among the remaining
 * voters after its leader is killed, and the dead voter is replaced by a fifth node (added,
 * then the dead one removed). Refusals reach the CLI with Kafka's error names.
 *
 * The steps share one cluster and run in order, each starting from where the last left it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterPerFile } from './cluster-process.js';
import { python } from './clients.js';
import { runSluice, type CliRun } from './sluice-cli.js';

const TEST_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 120_000;

interface QuorumStatusJson {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly currentVoters: readonly number[];
  readonly currentObservers: readonly number[];
  readonly voterEndpoints: Readonly<Record<string, readonly string[]>>;
}

interface ReplicationRow {
  readonly nodeId: number;
  readonly role: 'Leader' | 'Follower' | 'Observer';
  readonly lag: number;
}

const cluster = clusterPerFile({ nodes: 3 }, TEST_TIMEOUT_MS);
/** The voter removed by remove-controller, then stopped. */
let removed: number;
/** The voters after the removal. */
let remaining: number[];

const sorted = (ids: readonly number[]): number[] => [...ids].sort((a, b) => a - b);

async function sluiceOk(bootstrap: string | null, args: readonly string[]): Promise<CliRun> {
  const run = await runSluice(bootstrap, args);
  if (run.code !== 0) throw new Error(`sluice ${args.join(' ')} exited with ${run.code}: ${run.stderr}`);
  return run;
}

async function quorumStatus(bootstrap: string): Promise<QuorumStatusJson> {
  return JSON.parse((await sluiceOk(bootstrap, ['metadata', 'quorum', 'describe', '--status', '--json'])).stdout) as QuorumStatusJson;
}

async function replication(bootstrap: string): Promise<ReplicationRow[]> {
  return JSON.parse((await sluiceOk(bootstrap, ['metadata', 'quorum', 'describe', '--replication', '--json'])).stdout) as ReplicationRow[];
}

/**
 * A voter change through the CLI, sent again while the leader answers REQUEST_TIMED_OUT: the
 * retriable refusal (the leader has not committed in its new epoch yet, or another change
 * is still being committed). Any other answer is the result.
 */
async function voterChange(args: readonly string[]): Promise<CliRun> {
  return cluster.waitFor(`sluice ${args.join(' ')} answered other than REQUEST_TIMED_OUT`, async () => {
    const run = await runSluice(null, args);
    return !/REQUEST_TIMED_OUT/.test(run.stderr) && run;
  }, STEP_TIMEOUT_MS);
}

/** A topic created, its partitions fully in sync, 200 records produced acks=all and read back with confluent_kafka. */
async function roundTrip(topic: string, replicationFactor: number, via: readonly number[]): Promise<void> {
  const bootstrap = via.map((id) => cluster.node(id).bootstrap).join(',');
  await sluiceOk(cluster.node(via[0]!).bootstrap, ['topics', 'create', topic, '--partitions', '3', '--replication-factor', String(replicationFactor)]);
  await cluster.waitFor(`${topic} led and in sync on ${replicationFactor} replicas`, async () => {
    const t = (await cluster.metadata(via[0]!, [topic])).topics[0]!;
    return t.errorCode === 0 && t.partitions.length === 3 && t.partitions.every((p) => p.leaderId > 0 && p.isrNodes.length === replicationFactor);
  }, STEP_TIMEOUT_MS);
  const produced = await python<{ acked: number; error_count: number; errors: string[] }>('confluent.py', 'produce-seq', bootstrap, {
    topic, partitions: 3, count: 200, timeout_s: 60,
  });
  expect(produced, produced.errors.join('\n')).toMatchObject({ acked: 200, error_count: 0 });
  const consumed = await python<{ records: Record<string, Array<[number, string, number]>> }>('confluent.py', 'consume', bootstrap, {
    topic, partitions: [0, 1, 2], timeout_s: 60,
  });
  for (let p = 0; p < 3; p++) {
    // produce-seq writes round-robin: partition p gets every third record from the p-th.
    expect(consumed.records[String(p)]!.map((r) => r[1])).toEqual(Array.from({ length: Math.ceil((200 - p) / 3) }, (_, i) => `${p}:${i}`));
  }
}

describe('controllers added and removed at run time', () => {
  it('a controller outside the bootstrap voters follows the metadata log as an observer', async () => {
    try {
      const added = await cluster.addController();
      expect(added.nodeId).toBe(4);
      await cluster.waitFor('node 4 observing the quorum, caught up', async () => {
        const rows = await replication(cluster.node(1).bootstrap);
        return rows.some((r) => r.nodeId === 4 && r.role === 'Observer' && r.lag === 0);
      }, STEP_TIMEOUT_MS);
      expect(sorted((await quorumStatus(cluster.node(1).bootstrap)).currentVoters)).toEqual([1, 2, 3]);
    } catch (e) {
      throw cluster.explain(e);
    }
  }, TEST_TIMEOUT_MS);

  it('add-controller makes it a voter, as every node describes the quorum', async () => {
    try {
      const add = await voterChange([
        'metadata', 'quorum', 'add-controller', '--bootstrap-controller', cluster.controllerBootstrap(1), '--config', cluster.writeConfigFile(4),
      ]);
      expect(add.code, add.stderr).toBe(0);
      const endpoint = `CONTROLLER://${cluster.controllerBootstrap(4)}`;
      const directoryId = /^directory\.id=(.*)$/m.exec(readFileSync(join(cluster.node(4).dataDir, 'meta.properties'), 'latin1'))![1];
      expect(add.stdout).toBe(`Added controller 4 with directory id ${directoryId} and endpoints ${endpoint}\n`);
      for (const node of cluster.nodes) {
        const status = await quorumStatus(node.bootstrap);
        expect(sorted(status.currentVoters), `as node ${node.nodeId} describes it`).toEqual([1, 2, 3, 4]);
        expect(status.currentObservers).not.toContain(4);
        expect(status.voterEndpoints['4']).toEqual([endpoint]);
      }
      const text = await sluiceOk(cluster.node(4).bootstrap, ['metadata', 'quorum', 'describe', '--status']);
      expect(text.stdout).toContain(`{"id": 4, "endpoints": ["${endpoint}"]}`);
    } catch (e) {
      throw cluster.explain(e);
    }
  }, TEST_TIMEOUT_MS);

  it('refuses adding a voter twice and removing a node that is not a voter, naming the error', async () => {
    try {
      const again = await voterChange(['metadata', 'quorum', 'add-controller', '--bootstrap-controller', cluster.controllerBootstrap(2), '--config', cluster.writeConfigFile(2)]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/AddRaftVoter of node 2: DUPLICATE_VOTER/);
      const unknown = await voterChange(['metadata', 'quorum', 'remove-controller', '--bootstrap-controller', cluster.controllerBootstrap(3), '--controller-id', '9']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/RemoveRaftVoter of node 9: VOTER_NOT_FOUND/);
      expect(sorted((await quorumStatus(cluster.node(4).bootstrap)).currentVoters)).toEqual([1, 2, 3, 4]);
    } catch (e) {
      throw cluster.explain(e);
    }
  }, TEST_TIMEOUT_MS);

  it('remove-controller takes out a voter (the leader itself when one of the first three leads); the rest keep a leader; restarted, it observes', async () => {
    try {
      const before = await quorumStatus(cluster.node(4).bootstrap);
      removed = before.leaderId >= 1 && before.leaderId <= 3 ? before.leaderId : 1;
      remaining = [1, 2, 3, 4].filter((id) => id !== removed);
      const remove = await voterChange([
        'metadata', 'quorum', 'remove-controller', '--bootstrap-controller', cluster.controllerBootstrap(remaining[0]!), '--controller-id', String(removed),
      ]);
      expect(remove.code, remove.stderr).toBe(0);
      expect(remove.stdout).toBe(`Removed controller ${removed} from the metadata quorum\n`);
      const after = await cluster.waitFor(`a leader among ${remaining.join(',')}`, async () => {
        const s = await quorumStatus(cluster.node(remaining[0]!).bootstrap);
        return remaining.includes(s.leaderId) && s;
      }, STEP_TIMEOUT_MS);
      expect(sorted(after.currentVoters)).toEqual(remaining);

      expect(await cluster.kill(removed, 'SIGTERM')).toBe(0);
      await roundTrip('after-remove', 3, remaining);

      // Started again with its old config, which lists it among controller.quorum.voters, it
      // follows the voter set in its log: an observer that does not campaign.
      const settled = await quorumStatus(cluster.node(remaining[0]!).bootstrap);
      await cluster.restart(removed);
      await cluster.waitFor(`node ${removed} back as an observer, caught up`, async () => {
        const rows = await replication(cluster.node(remaining[0]!).bootstrap);
        return rows.some((r) => r.nodeId === removed && r.role === 'Observer' && r.lag === 0);
      }, STEP_TIMEOUT_MS);
      const back = await quorumStatus(cluster.node(removed).bootstrap);
      expect(sorted(back.currentVoters)).toEqual(remaining);
      expect([back.leaderId, back.leaderEpoch]).toEqual([settled.leaderId, settled.leaderEpoch]);
    } catch (e) {
      throw cluster.explain(e);
    }
  }, TEST_TIMEOUT_MS);

  it('the three remaining voters survive the loss of their leader, and the dead voter is replaced', async () => {
    try {
      const leader = (await quorumStatus(cluster.node(remaining[0]!).bootstrap)).leaderId;
      expect(remaining).toContain(leader);
      await cluster.kill(leader, 'SIGKILL');
      const survivors = remaining.filter((id) => id !== leader);
      // Fenced first, so that no replica of the next topic is placed on the dead broker.
      await cluster.waitFor(`broker ${leader} fenced`, async () => {
        const s = await cluster.status(survivors[0]!);
        return !s.brokers.some((b) => b.id === leader);
      }, STEP_TIMEOUT_MS);
      const status = await cluster.waitFor(`a new leader among ${survivors.join(',')}`, async () => {
        const s = await quorumStatus(cluster.node(survivors[0]!).bootstrap);
        return survivors.includes(s.leaderId) && s;
      }, STEP_TIMEOUT_MS);
      expect(sorted(status.currentVoters)).toEqual(remaining);
      await roundTrip('after-kill', 2, survivors);

      // The dead voter replaced as docs/operations.md says: a new controller added (four
      // voters, three alive), then the dead one removed. The new node's
      // controller.quorum.voters names every node that ever voted but the leader (the
      // original bootstrap list when node 4 leads): one is dead, one removed, and the live
      // voter among them names the leader with its endpoint, which no list the new node has.
      const lackingLeader = [1, 2, 3, 4].filter((id) => id !== status.leaderId);
      const replacement = await cluster.addController(lackingLeader);
      await cluster.waitFor(`node ${replacement.nodeId} observing the quorum, caught up`, async () => {
        const rows = await replication(cluster.node(survivors[0]!).bootstrap);
        return rows.some((r) => r.nodeId === replacement.nodeId && r.role === 'Observer' && r.lag === 0);
      }, STEP_TIMEOUT_MS);
      const add = await voterChange([
        'metadata', 'quorum', 'add-controller', '--bootstrap-controller', cluster.controllerBootstrap(survivors[0]!),
        '--config', cluster.writeConfigFile(replacement.nodeId),
      ]);
      expect(add.code, add.stderr).toBe(0);
      const remove = await voterChange([
        'metadata', 'quorum', 'remove-controller', '--bootstrap-controller', cluster.controllerBootstrap(survivors[1]!), '--controller-id', String(leader),
      ]);
      expect(remove.code, remove.stderr).toBe(0);
      const replaced = [...survivors, replacement.nodeId];
      for (const id of replaced) {
        expect(sorted((await quorumStatus(cluster.node(id).bootstrap)).currentVoters), `as node ${id} describes it`).toEqual(sorted(replaced));
      }
      await roundTrip('after-replace', 3, replaced);
    } catch (e) {
      throw cluster.explain(e);
    }
  }, TEST_TIMEOUT_MS);
});
