/**
 * Three RaftDrivers in one process on real time, file-backed logs in temp dirs, joined by
 * an in-memory ClusterTransport: election, replication, failover and catch-up. Small
 * timeouts; every wait is on a condition with a bounded deadline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerAddress } from '@sluice/sdk';
import { ManualClock } from '../clock.js';
import { PartitionLog } from '../log/partition-log.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { FileQuorumStateStore } from '../raft/file-quorum-state-store.js';
import { FileRaftLog } from '../raft/file-raft-log.js';
import { decodeSnapshot, encodeSnapshot } from '../raft/snapshot-format.js';
import { MemoryTransport, TEST_RAFT_CONFIG, TEST_VOTERS as VOTERS, waitFor } from '../../test/raft-cluster.js';
import { RaftDriver, type RaftRpcName } from './raft-driver.js';
import { RaftObserver } from './raft-observer.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface TestNode {
  readonly driver: RaftDriver;
  readonly log: FileRaftLog;
  readonly committed: string[];
  stop(): Promise<void>;
}

function openLog(dir: string, segmentBytes?: number): { log: FileRaftLog; partitionLog: PartitionLog } {
  const partitionLog = PartitionLog.open({
    dir, topic: '__cluster_metadata', partition: 0,
    config: logConfig({ 'write.caching': 'true', ...(segmentBytes !== undefined ? { 'segment.bytes': String(segmentBytes) } : {}) }),
    clock: new ManualClock(), log: captureLogger(), recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false,
  });
  return { log: new FileRaftLog(partitionLog), partitionLog };
}

function startNode(
  id: number, dir: string, transport: MemoryTransport, segmentBytes?: number, config = TEST_RAFT_CONFIG, voters: readonly PeerAddress[] = VOTERS,
): TestNode {
  const { log, partitionLog } = openLog(dir, segmentBytes);
  const committed: string[] = [];
  const driver = new RaftDriver({
    nodeId: id, voters, clusterId: 'c1', log, store: new FileQuorumStateStore(dir), config,
    transport: () => transport, requestTimeoutMs: 500, logger: captureLogger(),
    listener: {
      onCommit: (entries) => { for (const e of entries) if (e.kind === 'data') committed.push(Buffer.from(e.data).toString()); },
      // The state machine's snapshot is its list of committed words.
      onSnapshot: (_id, bytes) => { committed.splice(0, committed.length, ...decodeSnapshot(bytes).map((w) => Buffer.from(w).toString())); },
    },
  });
  transport.register(id, (rpc, req) => driver.handle(rpc as RaftRpcName, req as never));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    transport.unregister(id);
    driver.stop();
    await partitionLog.close();
  };
  cleanups.push(stop);
  driver.start();
  return { driver, log, committed, stop };
}

function leaderOf(nodes: readonly TestNode[]): TestNode | undefined {
  const leaders = nodes.filter((n) => n.driver.node.role() === 'leader');
  if (leaders.length !== 1) return undefined;
  const leader = leaders[0]!;
  const agreed = nodes.every((n) => n.driver.node.leaderId() === leader.driver.node.id && n.driver.node.epoch() === leader.driver.node.epoch());
  return agreed ? leader : undefined;
}

describe('RaftDriver', () => {
  it('elects, replicates, fails over without losing commits, and catches a restarted node up', async () => {
    const transport = new MemoryTransport();
    const dirs = VOTERS.map(() => tempDir('sluice-raft-driver-'));
    cleanups.push(() => { for (const d of dirs) d.cleanup(); });
    const nodes = VOTERS.map((v, i) => startNode(v.nodeId, dirs[i]!.path, transport));

    await waitFor('a leader all three follow', () => leaderOf(nodes) !== undefined);
    const first = leaderOf(nodes)!;
    for (const word of ['a', 'b', 'c']) expect(first.driver.propose(Buffer.from(word)).accepted).toBe(true);
    const follower = nodes.find((n) => n !== first)!;
    expect(follower.driver.propose(Buffer.from('x'))).toEqual({ accepted: false, leaderId: first.driver.node.id });
    await waitFor('a, b, c committed everywhere', () => nodes.every((n) => n.committed.join() === 'a,b,c'));

    await first.stop();
    const rest = nodes.filter((n) => n !== first);
    await waitFor('a new leader of the other two', () => leaderOf(rest) !== undefined);
    const second = leaderOf(rest)!;
    expect(second.driver.node.epoch()).toBeGreaterThan(first.driver.node.epoch());
    expect(second.driver.propose(Buffer.from('d')).accepted).toBe(true);
    await waitFor('d committed on the two', () => rest.every((n) => n.committed.join() === 'a,b,c,d'));

    const firstIndex = nodes.indexOf(first);
    const restarted = startNode(first.driver.node.id, dirs[firstIndex]!.path, transport);
    await waitFor('the restarted node to commit everything', () => restarted.committed.join() === 'a,b,c,d');
    await waitFor('the restarted node to follow', () => leaderOf([...rest, restarted]) !== undefined);
    expect(restarted.log.endOffset()).toBe(second.log.endOffset());
  });

  it('hands leadership over when the leader resigns (EndQuorumEpoch), long before any follower would time out', async () => {
    const transport = new MemoryTransport();
    const dirs = VOTERS.map(() => tempDir('sluice-raft-driver-'));
    cleanups.push(() => { for (const d of dirs) d.cleanup(); });
    // Followers would wait a minute for the old leader: only the handover can elect another within the wait.
    const config = { ...TEST_RAFT_CONFIG, fetchTimeoutMs: 60_000 };
    const nodes = VOTERS.map((v, i) => startNode(v.nodeId, dirs[i]!.path, transport, undefined, config));
    await waitFor('a leader all three follow', () => leaderOf(nodes) !== undefined);
    const first = leaderOf(nodes)!;
    expect(first.driver.propose(Buffer.from('a')).accepted).toBe(true);
    await waitFor('a committed everywhere', () => nodes.every((n) => n.committed.join() === 'a'));

    const epoch = first.driver.node.epoch();
    await first.driver.resign();
    expect(first.driver.node.role()).toBe('unattached');
    await waitFor('a new leader all three follow', () => {
      const leader = leaderOf(nodes);
      return leader !== undefined && leader !== first && leader.driver.node.epoch() > epoch;
    });
    const second = leaderOf(nodes)!;
    expect(second.driver.propose(Buffer.from('b')).accepted).toBe(true);
    await waitFor('b committed everywhere', () => nodes.every((n) => n.committed.join() === 'a,b'));
  });

  it('catches a follower that was down up by FetchSnapshot once the leader snapshotted and deleted its log prefix', async () => {
    const transport = new MemoryTransport();
    const dirs = VOTERS.map(() => tempDir('sluice-raft-driver-'));
    cleanups.push(() => { for (const d of dirs) d.cleanup(); });
    // Small segments, so that deleting the prefix below the snapshot removes whole segments.
    const nodes = VOTERS.map((v, i) => startNode(v.nodeId, dirs[i]!.path, transport, 1024));
    await waitFor('a leader all three follow', () => leaderOf(nodes) !== undefined);
    const away = nodes.find((n) => n.driver.node.role() !== 'leader')!;
    const index = nodes.indexOf(away);
    await away.stop();
    const rest = nodes.filter((n) => n !== away);

    // Proposed through whoever leads (leadership may move on a loaded machine) until enough is committed.
    const committedTarget = 60;
    let proposed = 0;
    await waitFor(`${committedTarget} entries committed on the other two`, () => {
      const leader = leaderOf(rest);
      if (leader !== undefined && leader.log.endOffset() < committedTarget + 5) leader.driver.propose(Buffer.from(`w${proposed++}`));
      return rest.every((n) => n.driver.node.highWatermark() >= committedTarget);
    });
    // Both snapshot what they committed and drop the prefix, so whichever leads serves a snapshot.
    for (const n of rest) {
      const hw = n.driver.node.highWatermark();
      const id = { offset: hw, epoch: n.log.entryAt(hw - 1)!.epoch };
      n.log.storeSnapshot(id, encodeSnapshot(id, n.committed.map((w) => Buffer.from(w)), Date.now()));
      n.log.deleteBefore(hw);
      expect(n.log.startOffset()).toBeGreaterThan(away.log.endOffset());
    }

    const back = startNode(away.driver.node.id, dirs[index]!.path, transport, 1024);
    await waitFor('the returning follower to install a snapshot and hold what the others hold',
      () => back.log.latestSnapshot() !== null && back.committed.length > 0
        && rest.some((n) => n.committed.join() === back.committed.join()));
    expect(back.log.startOffset()).toBe(back.log.latestSnapshot()!.offset);
    let after = 0;
    await waitFor('a word proposed after the snapshot on the returning follower', () => {
      const leader = leaderOf([...rest, back]);
      if (leader !== undefined && after < 50) leader.driver.propose(Buffer.from(`after${after++}`));
      return back.committed.some((w) => w.startsWith('after'));
    });
  });

  it('catches up a node whose bootstrap voters lack the leader through the leader endpoint a follower answers with', async () => {
    const transport = new MemoryTransport();
    const dirs = [...VOTERS, 5, 6].map(() => tempDir('sluice-raft-driver-'));
    cleanups.push(() => { for (const d of dirs) d.cleanup(); });
    const nodes = VOTERS.map((v, i) => startNode(v.nodeId, dirs[i]!.path, transport));
    await waitFor('a leader all three follow', () => leaderOf(nodes) !== undefined);
    const leader = leaderOf(nodes)!;
    for (const word of ['a', 'b']) expect(leader.driver.propose(Buffer.from(word)).accepted).toBe(true);
    await waitFor('a, b committed everywhere', () => nodes.every((n) => n.committed.join() === 'a,b'));
    const follower = nodes.find((n) => n !== leader)!;
    const leaderAddress = VOTERS.find((v) => v.nodeId === leader.driver.node.id)!;
    // The only voter these nodes know of is a follower: the leader is in no list they have.
    const bootstrap = VOTERS.filter((v) => v.nodeId === follower.driver.node.id);

    const answer = await follower.driver.handle('raft.fetch', { clusterId: 'c1', replicaId: 5, epoch: follower.driver.node.epoch(), fetchOffset: 0, lastFetchedEpoch: 0 });
    expect(answer).toMatchObject({
      errorCode: 6, leaderId: leaderAddress.nodeId, leaderEndpoint: { host: leaderAddress.host, port: leaderAddress.port },
    });
    expect(await leader.driver.handle('raft.fetch', { clusterId: 'c1', replicaId: 5, epoch: leader.driver.node.epoch(), fetchOffset: 0, lastFetchedEpoch: 0 }))
      .not.toHaveProperty('leaderEndpoint');

    const controller = startNode(5, dirs[3]!.path, transport, undefined, TEST_RAFT_CONFIG, bootstrap);
    await waitFor('the controller outside the voters to commit a, b', () => controller.committed.join() === 'a,b');
    expect(controller.driver.addressOf(leaderAddress.nodeId)).toEqual(leaderAddress);

    const { log, partitionLog } = openLog(dirs[4]!.path);
    cleanups.push(() => partitionLog.close());
    const observed: string[] = [];
    const observer = new RaftObserver({
      nodeId: 6, voters: bootstrap, clusterId: 'c1', log, transport: () => transport, requestTimeoutMs: 500, fetchBackoffMs: 20,
      logger: captureLogger(),
      listener: {
        onCommit: (entries) => { for (const e of entries) if (e.kind === 'data') observed.push(Buffer.from(e.data).toString()); },
        onSnapshot: () => { throw new Error('no snapshot was taken'); },
      },
    });
    cleanups.push(() => observer.stop());
    observer.start();
    await waitFor('the observer to commit a, b', () => observed.join() === 'a,b');
    expect(observer.leaderId()).toBe(leaderAddress.nodeId);
    expect(observer.addressOf(leaderAddress.nodeId)).toEqual(leaderAddress);
  });

  it('answers requests from outside the cluster with errors the core never sees', async () => {
    const dir = tempDir('sluice-raft-driver-');
    cleanups.push(() => dir.cleanup());
    const node = startNode(1, dir.path, new MemoryTransport());
    const vote = { candidateId: 2, voterId: 1, candidateEpoch: 5, lastOffsetEpoch: 9, lastOffset: 100, preVote: false };
    expect(await node.driver.handle('raft.vote', { ...vote, clusterId: 'other' })).toMatchObject({ errorCode: 104, voteGranted: false });
    // Meant for another voter: refused. (A candidate outside this node's voter set is not:
    // its set may be newer, KIP-853, and only its own voter set counts the vote.)
    expect(await node.driver.handle('raft.vote', { ...vote, clusterId: 'c1', voterId: 3 })).toMatchObject({ errorCode: 125 });
    expect(node.driver.node.epoch()).toBeLessThan(5);
    expect(await node.driver.handle('raft.vote', { ...vote, clusterId: 'c1' })).toMatchObject({ errorCode: 0, voteGranted: true, leaderEpoch: 5 });
  });
});
