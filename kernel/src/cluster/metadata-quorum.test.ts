/**
 * MetadataQuorum on three voters in one process (file logs, in-memory transport) and on a
 * sole voter through MetadataLog: commits reach every image, only the active controller
 * commits, leadership moves on failure, voters are added and removed, and a sole voter has
 * its image back at open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { VoterChangeResponse } from '@sluice/sdk';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ManualClock } from '../clock.js';
import { PartitionLog } from '../log/partition-log.js';
import { MetadataLog } from '../metadata/metadata-log.js';
import type { MetadataRecord } from '../metadata/records.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { MemoryTransport, TEST_RAFT_CONFIG, TEST_VOTERS, waitFor } from '../../test/raft-cluster.js';
import { FileQuorumStateStore } from '../raft/file-quorum-state-store.js';
import { FileRaftLog } from '../raft/file-raft-log.js';
import { DEFAULT_RAFT_CONFIG } from '../raft/raft-config.js';
import { decodeSnapshotVoters } from '../raft/snapshot-format.js';
import { MetadataQuorum, type MetadataSnapshotSettings } from './metadata-quorum.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newDir(): string {
  const d = tempDir('sluice-metadata-quorum-');
  cleanups.push(() => d.cleanup());
  return d.path;
}

interface Voter {
  readonly quorum: MetadataQuorum;
  readonly log: FileRaftLog;
  readonly events: string[];
  stop(): Promise<void>;
}

/** `snapshots`: snapshot often, in a log of tiny segments, so that prefixes really go. */
function startVoter(
  nodeId: number, dir: string, transport: MemoryTransport, snapshots?: MetadataSnapshotSettings, controller?: boolean, config = TEST_RAFT_CONFIG,
): Voter {
  const partitionLog = PartitionLog.open({
    dir, topic: '__cluster_metadata', partition: 0,
    config: logConfig({ 'write.caching': 'true', ...(snapshots !== undefined ? { 'segment.bytes': '1024' } : {}) }),
    clock: new ManualClock(), log: captureLogger(), recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false,
  });
  const log = new FileRaftLog(partitionLog);
  const quorum = new MetadataQuorum({
    nodeId, voters: TEST_VOTERS, clusterId: 'c1', log, store: new FileQuorumStateStore(dir),
    config, transport: () => transport, requestTimeoutMs: 500, logger: captureLogger(),
    ...(snapshots !== undefined ? { snapshots } : {}),
    ...(controller !== undefined ? { controller } : {}),
  });
  const events: string[] = [];
  quorum.onCommitted((records, offset) => events.push(`commit ${offset}: ${records.map((r) => r.type).join(',')}`));
  quorum.onLeadershipChange((active, epoch) => events.push(`${active ? 'active' : 'inactive'} in ${epoch}`));
  transport.register(nodeId, (rpc, req) => quorum.handle(rpc as 'raft.fetch', req as never));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    transport.unregister(nodeId);
    quorum.close();
    await partitionLog.close();
  };
  cleanups.push(stop);
  quorum.start();
  return { quorum, log, events, stop };
}

function topic(name: string): MetadataRecord {
  return { type: 'topic', name, topicId: randomBytes(16) };
}

function activeOf(voters: readonly Voter[]): Voter | undefined {
  const active = voters.filter((v) => v.quorum.isActiveController());
  return active.length === 1 ? active[0] : undefined;
}

/** Commits through whichever voter is the active controller, again after a NOT_CONTROLLER (leadership may move on a loaded machine). */
async function commitViaActive(voters: readonly Voter[], records: MetadataRecord[]): Promise<void> {
  for (;;) {
    await waitFor('one active controller', () => activeOf(voters) !== undefined);
    try {
      await activeOf(voters)!.quorum.commit(records);
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 41) throw err;
    }
  }
}

/** Pause between attempts of a voter change that was told "not now", as an operator's tool would wait. */
const VOTER_CHANGE_RETRY_MS = 20;
const VOTER_CHANGE_DEADLINE_MS = 20_000;

/**
 * Sends a voter change to whichever node is the active controller until it takes:
 * REQUEST_TIMED_OUT (the observer not caught up at this moment, a change pending) and
 * NOT_LEADER_OR_FOLLOWER (leadership moved, on a loaded machine) are tried again; `done`
 * recognizes a change an earlier attempt made after all. Returns the node that answered.
 */
async function changeVotersViaActive(
  nodes: readonly Voter[], send: (active: Voter) => Promise<VoterChangeResponse>, done: (active: Voter) => boolean,
): Promise<Voter> {
  const deadline = Date.now() + VOTER_CHANGE_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    await waitFor('one active controller', () => activeOf(nodes) !== undefined);
    const active = activeOf(nodes)!;
    if (attempt > 0 && done(active)) return active;
    const answer = await send(active);
    if (answer.errorCode === 0) return active;
    if ((answer.errorCode !== 6 && answer.errorCode !== 7) || Date.now() > deadline) {
      throw new Error(`voter change refused: ${answer.errorCode} ${answer.errorMessage}`);
    }
    await new Promise((resolve) => setTimeout(resolve, VOTER_CHANGE_RETRY_MS));
  }
}

describe('MetadataQuorum', () => {
  it('commits on the active controller into every image and moves control on failure', async () => {
    const transport = new MemoryTransport();
    const voters = TEST_VOTERS.map((v) => startVoter(v.nodeId, newDir(), transport));
    await Promise.all(voters.map((v) => v.quorum.whenCaughtUp()));
    await waitFor('one active controller', () => activeOf(voters) !== undefined);
    const first = activeOf(voters)!;
    const epoch = first.quorum.describeQuorum().leaderEpoch;
    expect(first.events).toContain(`active in ${epoch}`);

    const other = voters.find((v) => v !== first)!;
    await expect(other.quorum.commit([topic('nope')])).rejects.toMatchObject({ code: 41 });
    await first.quorum.commit([topic('a'), topic('b')]);
    expect([...first.quorum.image.topicsByName.keys()]).toEqual(['a', 'b']);
    await waitFor('a and b in every image', () => voters.every((v) => v.quorum.image.topicsByName.size === 2));
    expect(other.events.filter((e) => e.startsWith('commit'))).toEqual([`commit ${first.quorum.highWatermark() - 1}: topic,topic`]);
    expect(other.quorum.activeControllerId()).toBe(TEST_VOTERS[voters.indexOf(first)]!.nodeId);

    const described = first.quorum.describeQuorum();
    expect(described.errorCode).toBe(0);
    expect(described.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3]);
    expect(other.quorum.describeQuorum().errorCode).toBe(6);

    await first.stop();
    const rest = voters.filter((v) => v !== first);
    await waitFor('a new active controller', () => activeOf(rest) !== undefined);
    const second = activeOf(rest)!;
    expect([...second.quorum.image.topicsByName.keys()]).toEqual(['a', 'b']);
    await second.quorum.commit([topic('c')]);
    await waitFor('c on both', () => rest.every((v) => v.quorum.image.topicsByName.has('c')));
  });

  it('feeds an observer (a node outside the voters) every commit, across a change of leader and its own restart', async () => {
    const transport = new MemoryTransport();
    const voters = TEST_VOTERS.map((v) => startVoter(v.nodeId, newDir(), transport));
    const observerDir = newDir();
    let observer = startVoter(4, observerDir, transport);
    expect(observer.quorum.isVoter()).toBe(false);
    await waitFor('one active controller', () => activeOf(voters) !== undefined);
    await observer.quorum.whenCaughtUp();
    const first = activeOf(voters)!;
    await first.quorum.commit([topic('a')]);
    await waitFor('a on the observer', () => observer.quorum.image.topicsByName.has('a'));
    expect(observer.quorum.activeControllerId()).toBe(TEST_VOTERS[voters.indexOf(first)]!.nodeId);
    await expect(observer.quorum.commit([topic('nope')])).rejects.toMatchObject({ code: 41 });
    expect(observer.events).toEqual([`commit ${first.quorum.highWatermark() - 1}: topic`]);
    // Observers never count: the leader's voters are the three; the observer is listed apart.
    const described = first.quorum.describeQuorum();
    expect(described.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3]);
    expect(described.observers.map((o) => o.replicaId)).toEqual([4]);

    await first.stop();
    const rest = voters.filter((v) => v !== first);
    await waitFor('a new active controller', () => activeOf(rest) !== undefined);
    await activeOf(rest)!.quorum.commit([topic('b')]);
    await waitFor('b on the observer', () => observer.quorum.image.topicsByName.has('b'));

    await observer.stop();
    observer = startVoter(4, observerDir, transport);
    await observer.quorum.whenCaughtUp();
    expect([...observer.quorum.image.topicsByName.keys()]).toEqual(['a', 'b']);
  });

  it('adds a controller that observes as a voter and removes voters, the leader itself included (KIP-853)', async () => {
    const transport = new MemoryTransport();
    const dirs = [newDir(), newDir(), newDir(), newDir()];
    // Snapshots after every commit, in tiny segments: voters entries leave the log and the
    // snapshots must carry the voter set.
    const snapshots = { maxRecordBytes: 1, intervalMs: 0 };
    const nodes = [1, 2, 3].map((id) => startVoter(id, dirs[id - 1]!, transport, snapshots));
    const fourth = startVoter(4, dirs[3]!, transport, snapshots, true);
    // A broker without the controller role: the fetch-only observer.
    const broker = startVoter(5, newDir(), transport, snapshots, false);
    const all = [...nodes, fourth, broker];
    expect(fourth.quorum.isVoter()).toBe(false);
    await waitFor('one active controller', () => activeOf(nodes) !== undefined);
    await commitViaActive(nodes, [topic('a')]);
    await fourth.quorum.whenCaughtUp();
    const first = activeOf(nodes)!;
    const other = nodes.find((n) => n !== first)!;
    const directoryId = randomBytes(16);
    const add = { clusterId: 'c1', timeoutMs: 5000, voterId: 4, voterDirectoryId: directoryId, listeners: [{ name: 'CONTROLLER', host: 'localhost', port: 9004 }] };
    const zero = new Uint8Array(16);

    expect(await other.quorum.handle('raft.add-voter', add)).toMatchObject({ errorCode: 6 });
    expect(await first.quorum.handle('raft.add-voter', { ...add, clusterId: 'other' })).toMatchObject({ errorCode: 104 });
    expect(await first.quorum.handle('raft.add-voter', { ...add, voterId: nodes.indexOf(other) + 1 })).toMatchObject({ errorCode: 126 });
    expect(await first.quorum.handle('raft.remove-voter', { clusterId: 'c1', voterId: 9, voterDirectoryId: zero })).toMatchObject({ errorCode: 127 });
    // Node 6 never fetched: not a caught-up observer.
    expect(await first.quorum.handle('raft.add-voter', { ...add, voterId: 6 })).toMatchObject({ errorCode: 7 });

    const addedBy = await changeVotersViaActive(nodes, (active) => active.quorum.handle('raft.add-voter', add), (active) => active.quorum.voters().has(4));
    const described = addedBy.quorum.describeQuorum();
    expect(described.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3, 4]);
    expect(described.nodes?.find((n) => n.nodeId === 4)?.listeners).toEqual(add.listeners);
    await waitFor('node 4 a voter', () => fourth.quorum.isVoter());

    // The leader removes itself: it answers once the change commits, then resigns.
    let leaderId = 0;
    await changeVotersViaActive(all, (active) => {
      leaderId = all.indexOf(active) + 1;
      return active.quorum.handle('raft.remove-voter', { clusterId: 'c1', voterId: leaderId, voterDirectoryId: zero });
    }, (active) => leaderId !== 0 && !active.quorum.voters().has(leaderId));
    const leader = all[leaderId - 1]!;
    const rest = all.filter((n) => n !== leader);
    await waitFor('a new active controller among the rest', () => activeOf(rest) !== undefined);
    expect(leader.quorum.isVoter()).toBe(false);
    expect(leader.quorum.isActiveController()).toBe(false);
    await commitViaActive(rest, [topic('b')]);
    await waitFor('b everywhere, the removed node observing', () => all.every((n) => n.quorum.image.topicsByName.has('b')));
    expect(activeOf(rest)!.quorum.describeQuorum().voters.map((v) => v.replicaId).sort())
      .toEqual([1, 2, 3, 4].filter((id) => id !== leaderId));
    // The broker learned the new set and where the added voter is reached.
    expect(broker.quorum.voters().ids()).toEqual([1, 2, 3, 4].filter((id) => id !== leaderId));
    expect(broker.quorum.voterAddress(4)).toEqual({ nodeId: 4, host: 'localhost', port: 9004 });
    expect(broker.quorum.isVoter()).toBe(false);

    await commitViaActive(rest, [topic('c')]);
    const active = activeOf(rest)!;
    await waitFor('a snapshot of everything applied', () => active.quorum.latestSnapshot()?.offset === active.quorum.appliedOffset());
    const latest = active.quorum.latestSnapshot()!;
    expect(decodeSnapshotVoters(active.log.readSnapshot(latest, 0, Number.MAX_SAFE_INTEGER)!.bytes)?.ids())
      .toEqual([1, 2, 3, 4].filter((id) => id !== leaderId));

    // The voter set is read back from the log and snapshot at open, not from controller.quorum.voters.
    await leader.stop();
    const reopened = startVoter(leaderId, dirs[leaderId - 1]!, transport, snapshots, true);
    expect(reopened.quorum.isVoter()).toBe(false);
    expect(reopened.quorum.voters().ids()).toEqual([1, 2, 3, 4].filter((id) => id !== leaderId));
  });

  it('refuses to change the voters of a single-node quorum', async () => {
    const sole = MetadataLog.open({
      logDir: newDir(), clock: new ManualClock(), log: captureLogger(), recoveryPoint: 0, cleanShutdown: false,
    });
    cleanups.push(() => sole.close());
    const answer = await sole.quorum.handle('raft.remove-voter', { clusterId: '', voterId: 0, voterDirectoryId: new Uint8Array(16) });
    expect(answer).toMatchObject({ errorCode: 42 });
    expect((answer as { errorMessage: string }).errorMessage).toMatch(/single node/);
  });

  it('hands the leadership over when the active controller resigns before stopping', async () => {
    const transport = new MemoryTransport();
    // Followers would wait a minute for a silent leader: only the handover elects another within the wait.
    const config = { ...TEST_RAFT_CONFIG, fetchTimeoutMs: 60_000 };
    const voters = TEST_VOTERS.map((v) => startVoter(v.nodeId, newDir(), transport, undefined, undefined, config));
    await commitViaActive(voters, [topic('a')]);
    const first = activeOf(voters)!;
    const epochOf = (v: Voter): number => Number(v.events.findLast((e) => e.startsWith('active in '))!.slice('active in '.length));
    const epoch = epochOf(first);
    await first.quorum.resign();
    expect(first.quorum.isActiveController()).toBe(false);
    expect(first.events).toContain(`inactive in ${epoch}`);
    await first.stop();
    const rest = voters.filter((v) => v !== first);
    await waitFor('an active controller among the other two', () => activeOf(rest) !== undefined);
    const second = activeOf(rest)!;
    expect(epochOf(second)).toBeGreaterThan(epoch);
    await second.quorum.commit([topic('b')]);
    await waitFor('b in both images', () => rest.every((v) => v.quorum.image.topicsByName.has('b')));
  });

  it('rejects commits waiting when leadership is lost', async () => {
    const transport = new MemoryTransport();
    const voters = TEST_VOTERS.map((v) => startVoter(v.nodeId, newDir(), transport));
    await waitFor('one active controller', () => activeOf(voters) !== undefined);
    const active = activeOf(voters)!;
    // Nobody can acknowledge: the entry cannot commit, and check-quorum makes the leader resign.
    for (const v of voters) if (v !== active) await v.stop();
    await expect(active.quorum.commit([topic('lost')])).rejects.toMatchObject({ code: 41 });
    expect(active.quorum.isActiveController()).toBe(false);
    expect(active.events.at(-1)).toMatch(/^inactive in /);
  });

  it('catches up a voter and an observer that were away while the leader snapshotted and deleted its log prefix', async () => {
    const transport = new MemoryTransport();
    const snapshots = { maxRecordBytes: 100, intervalMs: 0 };
    const dirs = TEST_VOTERS.map(() => newDir());
    const voters = TEST_VOTERS.map((v, i) => startVoter(v.nodeId, dirs[i]!, transport, snapshots));
    await waitFor('one active controller', () => activeOf(voters) !== undefined);
    await commitViaActive(voters, [topic('early')]);
    const away = voters.find((v) => !v.quorum.isActiveController())!;
    await waitFor('early on the voter about to go away', () => away.quorum.image.topicsByName.has('early'));
    await away.stop();
    const rest = voters.filter((v) => v !== away);

    for (let i = 0; i < 40; i++) await commitViaActive(rest, [topic(`t${i}`)]);
    await commitViaActive(rest, [topic('gone')]);
    const gone = activeOf(rest)?.quorum.image.topicsByName.get('gone') ?? rest[0]!.quorum.image.topicsByName.get('gone')!;
    await commitViaActive(rest, [{ type: 'remove-topic', topicId: gone.topicId }]);
    // Every voter snapshots on its own, so whichever leads has a log start past the away voter's log end.
    await waitFor('snapshots past the away voter and log starts past its log end', () => rest.every(
      (v) => v.log.startOffset() > away.log.endOffset() && (v.log.latestSnapshot()?.offset ?? 0) >= v.log.startOffset()));

    const back = startVoter(TEST_VOTERS[voters.indexOf(away)]!.nodeId, dirs[voters.indexOf(away)]!, transport, snapshots);
    const observer = startVoter(4, newDir(), transport, snapshots);
    await commitViaActive([...rest, back], [topic('after')]);
    const names = (v: Voter): string[] => [...v.quorum.image.topicsByName.keys()].sort();
    for (const v of [back, observer]) {
      await waitFor('the image equal to the others\'', () => names(v).includes('after') && rest.some((r) => names(r).join() === names(v).join()));
      // Installed from a snapshot: their logs start where the leader's snapshot ended, not at 0.
      expect(v.log.startOffset()).toBeGreaterThan(0);
      expect(v.events.some((e) => e.includes('topic'))).toBe(true);
    }
    expect(names(back)).not.toContain('gone');
  });

  it('restarts a sole voter from its snapshot and the log after it, to the same image', async () => {
    const dir = newDir();
    const logger = captureLogger();
    const open = (): MetadataLog => MetadataLog.open({
      logDir: dir, clock: new ManualClock(), log: logger, recoveryPoint: 0, cleanShutdown: false,
      quorum: {
        nodeId: 0, voters: [], clusterId: '', transport: () => undefined, raft: DEFAULT_RAFT_CONFIG, requestTimeoutMs: 2000,
        snapshots: { maxRecordBytes: 150, intervalMs: 0 },
      },
    });
    let metadata = open();
    for (let i = 0; i < 12; i++) {
      await metadata.commit([topic(`t${i}`)]);
      await metadata.commit([{ type: 'config', resourceType: 2, resourceName: `t${i}`, name: 'retention.ms', value: String(i) }]);
    }
    // Leave a tail after the snapshot, to be replayed on top of it (a commit right after one leaves none).
    for (let i = 0; i < 5 && (metadata.quorum.latestSnapshot()?.offset ?? Infinity) >= metadata.quorum.highWatermark(); i++) {
      await metadata.commit([{ type: 'config', resourceType: 2, resourceName: 't0', name: 'cleanup.policy', value: `x${i}` }]);
    }
    const snapshot = metadata.quorum.latestSnapshot();
    expect(snapshot).not.toBeNull();
    expect(snapshot!.offset).toBeLessThan(metadata.quorum.highWatermark());
    const before = [...metadata.image.topicsByName.values()].map((t) => [t.name, [...t.configs]]);
    await metadata.close();

    metadata = open();
    expect(logger.lines.some((l) => l.msg.includes('image loaded from snapshot') && l.fields?.['endOffset'] === snapshot!.offset)).toBe(true);
    expect([...metadata.image.topicsByName.values()].map((t) => [t.name, [...t.configs]])).toEqual(before);
    await metadata.commit([topic('more')]);
    expect(metadata.image.topicsByName.has('more')).toBe(true);
    await metadata.close();
  });

  it('gives a sole voter its image back at open, before anything is awaited', async () => {
    const dir = newDir();
    const open = (): MetadataLog => MetadataLog.open({
      logDir: dir, clock: new ManualClock(), log: captureLogger(), recoveryPoint: 0, cleanShutdown: false,
    });
    let metadata = open();
    await metadata.commit([topic('kept')]);
    await metadata.commit([{ type: 'config', resourceType: 2, resourceName: 'kept', name: 'retention.ms', value: '5' }]);
    await metadata.close();
    metadata = open();
    expect(metadata.image.topicsByName.get('kept')?.configs.get('retention.ms')).toBe('5');
    await metadata.commit([topic('more')]);
    expect([...metadata.image.topicsByName.keys()]).toEqual(['kept', 'more']);
    await metadata.close();
    const stored = new FileQuorumStateStore(join(dir, '__cluster_metadata-0')).read();
    expect(stored).toMatchObject({ epoch: 2, votedFor: 0, leaderId: 0 });
  });
});
