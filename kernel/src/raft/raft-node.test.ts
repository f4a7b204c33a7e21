import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { FetchResponse, RaftMessage, VoteResponse } from './messages.js';
import { DEFAULT_RAFT_CONFIG, checkQuorumTimeoutMs } from './raft-config.js';
import { MemoryRaftLog } from './raft-log.js';
import { RaftNode } from './raft-node.js';
import { MemoryQuorumStateStore } from './quorum-state-store.js';
import { SeededRandom } from './random.js';
import { isLogUpToDate, type Epoch, type LogEntry, type NodeId, type OffsetAndEpoch } from './types.js';

const config = DEFAULT_RAFT_CONFIG;
const VOTERS = [1, 2, 3];

function entry(offset: number, epoch: Epoch, text = `e${offset}`): LogEntry {
  return { offset, epoch, kind: 'data', data: new TextEncoder().encode(text) };
}

function logOf(...epochs: Epoch[]): MemoryRaftLog {
  const log = new MemoryRaftLog();
  epochs.forEach((epoch, offset) => log.append(entry(offset, epoch)));
  log.flush();
  return log;
}

class Harness {
  readonly clock = new ManualClock(0);
  readonly sent: RaftMessage[] = [];
  readonly committed: LogEntry[] = [];
  readonly snapshots: Array<{ id: OffsetAndEpoch; bytes: Uint8Array }> = [];

  node(id: NodeId, log = new MemoryRaftLog(), store = new MemoryQuorumStateStore(), raftConfig = config): RaftNode {
    return new RaftNode({
      id, voters: VOTERS, snapshotVoters: () => null, log, store, clock: this.clock, random: new SeededRandom(id), config: raftConfig,
      channel: { send: (m) => this.sent.push(m) },
      listener: { onCommit: (entries) => this.committed.push(...entries), onSnapshot: (sid, bytes) => this.snapshots.push({ id: sid, bytes }) },
    });
  }

  take<T extends RaftMessage['type']>(type: T): Extract<RaftMessage, { type: T }>[] {
    const taken = this.sent.filter((m): m is Extract<RaftMessage, { type: T }> => m.type === type);
    this.sent.length = 0;
    return taken;
  }

  /** Runs one election that `node` wins with the vote of node `granter`. */
  elect(node: RaftNode, granter: NodeId): void {
    this.clock.advance(2 * config.electionTimeoutMs);
    node.poll();
    for (const preVote of [true, false]) {
      const req = this.take('vote-request').find((m) => m.to === granter && m.preVote === preVote)!;
      node.handle(grant(req.to, node.id, req.epoch, preVote));
    }
    expect(node.role()).toBe('leader');
  }

  flush(node: RaftNode): void {
    this.clock.advance(config.appendLingerMs);
    node.poll();
  }
}

function grant(from: NodeId, to: NodeId, epoch: Epoch, preVote: boolean): VoteResponse {
  return {
    type: 'vote-response', from, to, preVote, requestEpoch: epoch,
    epoch: preVote ? epoch - 1 : epoch, leaderId: null, granted: true,
  };
}

function voteRequest(from: NodeId, to: NodeId, epoch: Epoch, lastEpoch: Epoch, endOffset: number, preVote = false): RaftMessage {
  return { type: 'vote-request', from, to, preVote, epoch, lastEpoch, endOffset };
}

function fetch(from: NodeId, to: NodeId, epoch: Epoch, fetchOffset: number, lastFetchedEpoch: Epoch): RaftMessage {
  return { type: 'fetch-request', from, to, epoch, fetchOffset, lastFetchedEpoch };
}

describe('log up-to-date check', () => {
  it('compares the last epoch first and the end offset only within the same epoch', () => {
    expect(isLogUpToDate({ epoch: 3, offset: 1 }, { epoch: 2, offset: 10 })).toBe(true);
    expect(isLogUpToDate({ epoch: 2, offset: 10 }, { epoch: 3, offset: 1 })).toBe(false);
    expect(isLogUpToDate({ epoch: 2, offset: 5 }, { epoch: 2, offset: 5 })).toBe(true);
    expect(isLogUpToDate({ epoch: 2, offset: 4 }, { epoch: 2, offset: 5 })).toBe(false);
  });
});

describe('vote granting', () => {
  it('grants one vote per epoch, durably, and repeats it to the same candidate', () => {
    const h = new Harness();
    const store = new MemoryQuorumStateStore();
    const voter = h.node(1, logOf(1, 1), store);
    voter.handle(voteRequest(2, 1, 2, 1, 2));
    voter.handle(voteRequest(3, 1, 2, 1, 2));
    voter.handle(voteRequest(2, 1, 2, 1, 2));
    expect(h.take('vote-response').map((r) => [r.from, r.to, r.granted, r.epoch])).toEqual([
      [1, 2, true, 2], [1, 3, false, 2], [1, 2, true, 2],
    ]);
    expect(store.read()).toEqual({ epoch: 2, votedFor: 2, leaderId: null });

    const restarted = h.node(1, logOf(1, 1), store);
    restarted.handle(voteRequest(3, 1, 2, 1, 2));
    expect(h.take('vote-response')[0]!.granted).toBe(false);
  });

  it('refuses a candidate whose log is behind, but still moves to its epoch', () => {
    const h = new Harness();
    const voter = h.node(1, logOf(1, 2, 2));
    voter.handle(voteRequest(2, 1, 5, 1, 10));
    voter.handle(voteRequest(3, 1, 5, 2, 2));
    expect(h.take('vote-response').map((r) => r.granted)).toEqual([false, false]);
    expect(voter.epoch()).toBe(5);
    expect(voter.votedFor()).toBeNull();
  });

  it('refuses a request from an older epoch and answers with its own', () => {
    const h = new Harness();
    const voter = h.node(1);
    voter.handle(voteRequest(2, 1, 4, 0, 0));
    h.take('vote-response');
    voter.handle(voteRequest(3, 1, 3, 0, 0));
    expect(h.take('vote-response')[0]).toMatchObject({ granted: false, epoch: 4 });
  });
});

describe('pre-vote', () => {
  it('is refused while the follower fetches from a live leader and changes no epoch', () => {
    const h = new Harness();
    const leader = h.node(1, logOf(1));
    const follower = h.node(2, logOf(1));
    h.elect(leader, 3);
    follower.handle(h.take('begin-quorum-epoch').find((m) => m.to === 2)!);
    leader.handle(h.take('fetch-request')[0]!);
    follower.handle(h.take('fetch-response')[0]!);
    h.sent.length = 0;

    follower.handle(voteRequest(3, 2, leader.epoch() + 1, 9, 100, true));
    expect(h.take('vote-response')[0]).toMatchObject({ granted: false, preVote: true, leaderId: 1 });
    expect(follower.epoch()).toBe(leader.epoch());

    h.clock.advance(config.fetchTimeoutMs);
    follower.handle(voteRequest(3, 2, leader.epoch() + 1, 9, 100, true));
    expect(h.sent.find((m) => m.type === 'vote-response')).toMatchObject({ granted: true, preVote: true });
    expect(follower.epoch()).toBe(leader.epoch());
  });

  it('is all a node with a silent leader sends: the epoch rises only after a majority agrees', () => {
    const h = new Harness();
    const node = h.node(1, logOf(1));
    h.clock.advance(2 * config.electionTimeoutMs);
    node.poll();
    expect(node.role()).toBe('prospective');
    expect(node.epoch()).toBe(0);
    const requests = h.take('vote-request');
    expect(requests.every((r) => r.preVote && r.epoch === 1)).toBe(true);
    node.handle(grant(2, 1, 1, true));
    expect(node.role()).toBe('candidate');
    expect(node.epoch()).toBe(1);
  });
});

describe('replication', () => {
  it('truncates a follower to where its log diverges from the leader, then catches up', () => {
    const h = new Harness();
    // The leader's log went 1,1,3; the follower holds epoch 2 entries from a deposed leader.
    const leaderStore = new MemoryQuorumStateStore();
    leaderStore.write({ epoch: 3, votedFor: null, leaderId: null });
    const leader = h.node(1, logOf(1, 1, 3), leaderStore);
    h.elect(leader, 3);
    h.flush(leader);
    const epoch = leader.epoch();
    leader.handle(fetch(2, 1, epoch, 4, 2));
    const diverging = h.take('fetch-response')[0]!;
    expect(diverging.divergingEpoch).toEqual({ epoch: 1, offset: 2 });

    const store = new MemoryQuorumStateStore();
    store.write({ epoch, votedFor: null, leaderId: null });
    const followerLog = logOf(1, 1, 2, 2);
    const follower = h.node(2, followerLog, store);
    follower.handle({ type: 'begin-quorum-epoch', from: 1, to: 2, epoch });
    const first = h.take('fetch-request')[0]!;
    expect(first).toMatchObject({ fetchOffset: 4, lastFetchedEpoch: 2 });
    follower.handle(diverging);
    expect(followerLog.endOffset()).toBe(2);

    const refetch = h.take('fetch-request')[0]!;
    expect(refetch).toMatchObject({ fetchOffset: 2, lastFetchedEpoch: 1 });
    leader.handle(refetch);
    follower.handle(h.take('fetch-response')[0]!);
    expect(followerLog.read(0, 10).map((e) => e.epoch)).toEqual([1, 1, 3, epoch]);
  });

  it('ignores a late response to a fetch made from another log state', () => {
    const h = new Harness();
    const leader = h.node(1, logOf(1));
    h.elect(leader, 3);
    const follower = h.node(2, logOf(1));
    follower.handle(h.take('begin-quorum-epoch').find((m) => m.to === 2)!);
    leader.handle(h.take('fetch-request')[0]!);
    const response = h.take('fetch-response')[0]!;
    follower.handle(response);
    const end = follower.highWatermark();
    follower.handle(response);
    expect(follower.highWatermark()).toBe(end);
  });
});

describe('commit rule (Raft Figure 8)', () => {
  it('does not commit an older-epoch entry by replica count, only under an entry of its own epoch', () => {
    const h = new Harness();
    const store = new MemoryQuorumStateStore();
    store.write({ epoch: 2, votedFor: 1, leaderId: null });
    // Offset 1 is from epoch 2 and was never committed by the leader of epoch 2.
    const leader = h.node(1, logOf(1, 2), store);
    h.elect(leader, 3);
    h.flush(leader);
    const epoch = leader.epoch();
    expect(epoch).toBe(3);

    leader.handle(fetch(2, 1, epoch, 1, 1));
    expect(h.take('fetch-response')[0]!.entries.map((e) => e.epoch)).toEqual([2, 3]);
    // Node 2 now holds offset 1 too: two of three voters, yet it must not be committed.
    leader.handle(fetch(2, 1, epoch, 2, 2));
    expect(leader.highWatermark()).toBe(0);
    expect(h.committed).toEqual([]);

    leader.handle(fetch(2, 1, epoch, 3, 3));
    expect(leader.highWatermark()).toBe(3);
    expect(h.committed.map((e) => [e.offset, e.epoch, e.kind])).toEqual([
      [0, 1, 'data'], [1, 2, 'data'], [2, 3, 'leader-change'],
    ]);
  });

  it('counts only what the leader has flushed', () => {
    const h = new Harness();
    const log = new MemoryRaftLog();
    const leader = h.node(1, log);
    h.elect(leader, 2);
    h.flush(leader);
    const result = leader.propose(new TextEncoder().encode('x'));
    expect(result).toEqual({ accepted: true, offset: 1, epoch: 1 });
    leader.handle(fetch(2, 1, 1, 2, 1));
    expect(leader.highWatermark()).toBe(1);
    h.flush(leader);
    leader.handle(fetch(2, 1, 1, 2, 1));
    expect(leader.highWatermark()).toBe(2);
    expect(log.flushedOffset()).toBe(2);
  });
});

describe('observers', () => {
  it('are served the log but neither acknowledge entries nor keep the leader in office', () => {
    const h = new Harness();
    const leader = h.node(1);
    h.elect(leader, 2);
    h.flush(leader);
    leader.handle(fetch(2, 1, 1, 1, 1));
    expect(leader.highWatermark()).toBe(1);
    leader.propose(new TextEncoder().encode('x'));
    h.flush(leader);
    h.sent.length = 0;
    leader.handle(fetch(4, 1, 1, 0, 0));
    const [served] = h.take('fetch-response');
    expect(served).toMatchObject({ to: 4, error: 'none', highWatermark: 1, divergingEpoch: null });
    expect(served!.entries.map((e) => e.offset)).toEqual([0, 1]);
    leader.handle(fetch(4, 1, 1, 2, 1));
    expect(leader.highWatermark()).toBe(1);
    // Only an observer keeps fetching: the leader still resigns on check-quorum.
    h.clock.advance(checkQuorumTimeoutMs(config) - 1);
    leader.handle(fetch(4, 1, 1, 2, 1));
    h.clock.advance(checkQuorumTimeoutMs(config));
    leader.poll();
    expect(leader.role()).toBe('unattached');
  });
});

describe('leadership', () => {
  it('resigns when no majority has fetched for the check-quorum timeout', () => {
    const h = new Harness();
    const leader = h.node(1);
    h.elect(leader, 2);
    const epoch = leader.epoch();
    h.clock.advance(checkQuorumTimeoutMs(config) - 1);
    leader.handle(fetch(2, 1, epoch, 1, 1));
    h.clock.advance(checkQuorumTimeoutMs(config) - 1);
    leader.poll();
    expect(leader.role()).toBe('leader');
    h.clock.advance(1);
    leader.poll();
    expect(leader.role()).toBe('unattached');
    expect(leader.epoch()).toBe(epoch);
  });

  it('refuses proposals unless leading and names the leader it follows', () => {
    const h = new Harness();
    const follower = h.node(2);
    expect(follower.propose(new Uint8Array([1]))).toEqual({ accepted: false, leaderId: null });
    follower.handle({ type: 'begin-quorum-epoch', from: 1, to: 2, epoch: 4 });
    expect(follower.propose(new Uint8Array([1]))).toEqual({ accepted: false, leaderId: 1 });
  });

  it('steps down when a fetch reveals a newer epoch', () => {
    const h = new Harness();
    const follower = h.node(2);
    follower.handle({ type: 'begin-quorum-epoch', from: 1, to: 2, epoch: 4 });
    const req = h.take('fetch-request')[0]!;
    const fenced: FetchResponse = {
      type: 'fetch-response', from: 1, to: 2, error: 'fenced-epoch', epoch: 6, leaderId: 3,
      fetchOffset: req.fetchOffset, lastFetchedEpoch: req.lastFetchedEpoch, highWatermark: 0, entries: [], divergingEpoch: null,
      snapshotId: null,
    };
    follower.handle(fenced);
    expect([follower.epoch(), follower.leaderId()]).toEqual([6, 3]);
  });
});

describe('MemoryRaftLog', () => {
  it('finds epoch ends, truncates durably and loses only unflushed entries on a crash', () => {
    const log = logOf(1, 1, 3, 3);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, offset: 2 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, offset: 4 });
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, offset: 0 });
    log.append(entry(4, 4));
    expect(log.loseUnflushed().map((e) => e.offset)).toEqual([4]);
    log.truncateTo(2);
    expect([log.endOffset(), log.flushedOffset(), log.lastEpoch()]).toEqual([2, 2, 1]);
    expect(() => log.append(entry(3, 1))).toThrow(/offset 3/);
  });

  it('keeps epoch ends past a deleted prefix and answers for the epoch it starts in', () => {
    const log = logOf(1, 1, 2, 2, 3);
    log.storeSnapshot({ offset: 3, epoch: 2 }, new Uint8Array([7]));
    log.deleteBefore(3);
    expect([log.startOffset(), log.endOffset(), log.lastEpoch()]).toEqual([3, 5, 3]);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, offset: 4 });
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 0, offset: 0 });
    expect(() => log.read(2, 1)).toThrow(RangeError);
    expect(() => log.deleteBefore(4)).toThrow(/snapshot/);
    log.installSnapshot({ offset: 9, epoch: 4 }, new Uint8Array([8]));
    expect([log.startOffset(), log.endOffset(), log.lastEpoch(), log.endOffsetForEpoch(5)]).toEqual([9, 9, 4, { offset: 9, epoch: 4 }]);
  });
});

describe('snapshots', () => {
  /** A leader of epoch 2 over entries 0..5 (epoch 1) that committed them all and snapshotted at 5, keeping 5 on. */
  function snapshottedLeader(h: Harness, chunkBytes: number): { leader: RaftNode; log: MemoryRaftLog } {
    const log = logOf(1, 1, 1, 1, 1);
    const leader = h.node(1, log, new MemoryQuorumStateStore(), { ...config, maxSnapshotChunkBytes: chunkBytes });
    h.elect(leader, 3);
    h.flush(leader);
    leader.handle(fetch(3, 1, leader.epoch(), log.endOffset(), log.lastEpoch()));
    expect(leader.highWatermark()).toBe(6);
    log.storeSnapshot({ offset: 5, epoch: 1 }, new TextEncoder().encode('state up to 5, in several chunks'));
    log.deleteBefore(5);
    h.sent.length = 0;
    return { leader, log };
  }

  it('a follower behind the log start fetches the snapshot in chunks, installs it and fetches the log after it', () => {
    const h = new Harness();
    const { leader, log } = snapshottedLeader(h, 4);
    const followerLog = logOf(1, 1);
    const follower = h.node(2, followerLog);
    follower.handle({ type: 'begin-quorum-epoch', from: 1, to: 2, epoch: leader.epoch() });
    leader.handle(h.take('fetch-request')[0]!);
    expect(h.sent[0]).toMatchObject({ type: 'fetch-response', snapshotId: { offset: 5, epoch: 1 }, entries: [] });
    let rounds = 0;
    const committedBefore = h.committed.length;
    for (let m = h.sent.shift(); m !== undefined; m = h.sent.shift()) {
      if (m.type === 'fetch-snapshot-request') rounds++;
      (m.to === 1 ? leader : follower).handle(m);
      if (m.type === 'fetch-response' && m.entries.length > 0) break;
    }
    h.sent.length = 0;
    expect(rounds).toBe(Math.ceil(log.readSnapshot({ offset: 5, epoch: 1 }, 0, 0)!.size / 4));
    expect(h.snapshots.map((s) => [s.id.offset, new TextDecoder().decode(s.bytes)])).toEqual([[5, 'state up to 5, in several chunks']]);
    expect([followerLog.startOffset(), followerLog.endOffset(), followerLog.latestSnapshot()]).toEqual([5, 6, { offset: 5, epoch: 1 }]);
    expect(followerLog.entryAt(5)).toMatchObject({ epoch: leader.epoch(), kind: 'leader-change' });
    expect(follower.highWatermark()).toBe(6);
    // Only the follower commits here: the entry after the snapshot, nothing below it.
    expect(h.committed.slice(committedBefore).map((e) => e.offset)).toEqual([5]);
  });

  it('a follower diverging inside the deleted prefix is sent the snapshot, not a divergence it cannot use', () => {
    const h = new Harness();
    const { leader } = snapshottedLeader(h, 1024);
    // Offsets 0..5 under a different epoch, as written by a deposed leader that never committed them.
    leader.handle(fetch(2, 1, leader.epoch(), 6, 0));
    const resp = h.take('fetch-response')[0]!;
    expect([resp.snapshotId, resp.divergingEpoch]).toEqual([{ offset: 5, epoch: 1 }, null]);
  });

  it('a restarted node starts its high watermark and commits at its latest snapshot', () => {
    const h = new Harness();
    const log = logOf(1, 1, 1, 1);
    log.storeSnapshot({ offset: 3, epoch: 1 }, new Uint8Array([1]));
    log.deleteBefore(2);
    const node = h.node(2, log);
    expect(node.highWatermark()).toBe(3);
    node.handle({ type: 'begin-quorum-epoch', from: 1, to: 2, epoch: 2 });
    const req = h.take('fetch-request')[0]!;
    node.handle({
      type: 'fetch-response', from: 1, to: 2, error: 'none', epoch: 2, leaderId: 1, fetchOffset: req.fetchOffset,
      lastFetchedEpoch: req.lastFetchedEpoch, highWatermark: 5, entries: [entry(4, 2)], divergingEpoch: null, snapshotId: null,
    });
    expect(h.committed.map((e) => e.offset)).toEqual([3, 4]);
  });
});

describe('restart', () => {
  /** Node 2 followed leader 1 in an election node 3 voted in; returns node 2's store. */
  function followedLeader(h: Harness): { leader: RaftNode; store: MemoryQuorumStateStore; log: MemoryRaftLog } {
    const leader = h.node(1, logOf(1));
    h.elect(leader, 3);
    const store = new MemoryQuorumStateStore();
    const log = logOf(1);
    const follower = h.node(2, log, store);
    follower.handle(h.take('begin-quorum-epoch').find((m) => m.to === 2)!);
    h.sent.length = 0;
    return { leader, store, log };
  }

  it('resumes following the stored leader in its epoch at once, without a vote', () => {
    const h = new Harness();
    const { leader, store, log } = followedLeader(h);
    expect(store.read()).toEqual({ epoch: leader.epoch(), votedFor: null, leaderId: 1 });

    const restarted = h.node(2, log, store);
    expect([restarted.role(), restarted.leaderId(), restarted.epoch(), restarted.votedFor()]).toEqual(['follower', 1, leader.epoch(), null]);
    expect(restarted.nextWakeupMs()).toBe(h.clock.nowMs());
    restarted.poll();
    const req = h.take('fetch-request')[0]!;
    expect(req).toMatchObject({ to: 1, epoch: leader.epoch() });
    h.flush(leader);
    leader.handle(req);
    restarted.handle(h.take('fetch-response')[0]!);
    // It now holds the leader's leader-change entry of the epoch.
    expect(log.read(0, 10).map((e) => [e.epoch, e.kind])).toEqual([[1, 'data'], [leader.epoch(), 'leader-change']]);
    // Until that fetch succeeded it vouched for no leader: a pre-vote then would have been granted.
    restarted.handle(voteRequest(3, 2, leader.epoch() + 1, 9, 100, true));
    expect(h.take('vote-response')[0]).toMatchObject({ granted: false, leaderId: 1 });
  });

  it('grants a pre-vote before its first fetch from the stored leader succeeds', () => {
    const h = new Harness();
    const { leader, store, log } = followedLeader(h);
    const restarted = h.node(2, log, store);
    restarted.handle(voteRequest(3, 2, leader.epoch() + 1, 9, 100, true));
    expect(h.take('vote-response')[0]).toMatchObject({ granted: true, leaderId: null });
  });

  it('learns from the stored leader that the quorum moved on', () => {
    const h = new Harness();
    const { store, log } = followedLeader(h);
    const restarted = h.node(2, log, store);
    restarted.poll();
    const req = h.take('fetch-request')[0]!;
    restarted.handle({
      type: 'fetch-response', from: 1, to: 2, error: 'fenced-epoch', epoch: req.epoch + 1, leaderId: 3,
      fetchOffset: req.fetchOffset, lastFetchedEpoch: req.lastFetchedEpoch, highWatermark: 0, entries: [], divergingEpoch: null, snapshotId: null,
    });
    expect([restarted.role(), restarted.leaderId(), restarted.epoch()]).toEqual(['follower', 3, req.epoch + 1]);
    expect(h.take('fetch-request')[0]).toMatchObject({ to: 3, epoch: req.epoch + 1 });
  });

  it('starts a pre-vote after the fetch timeout when the stored leader is gone', () => {
    const h = new Harness();
    const { leader, store, log } = followedLeader(h);
    const restarted = h.node(2, log, store);
    restarted.poll();
    h.sent.length = 0;
    h.clock.advance(config.fetchTimeoutMs);
    restarted.poll();
    expect(restarted.role()).toBe('prospective');
    expect(h.take('vote-request').every((r) => r.preVote && r.epoch === leader.epoch() + 1)).toBe(true);
  });

  it('starts unattached, its own vote kept, when it was the leader itself, and pre-votes at once to find the leader', () => {
    const h = new Harness();
    const store = new MemoryQuorumStateStore();
    const log = logOf(1);
    h.elect(h.node(1, log, store), 3);
    expect(store.read()).toEqual({ epoch: 1, votedFor: 1, leaderId: 1 });
    h.sent.length = 0;
    const restarted = h.node(1, log, store);
    expect([restarted.role(), restarted.leaderId(), restarted.votedFor()]).toEqual(['unattached', null, 1]);
    restarted.handle(voteRequest(2, 1, 1, 1, 1));
    expect(h.take('vote-response')[0]).toMatchObject({ granted: false });
    expect(restarted.nextWakeupMs()).toBe(h.clock.nowMs());
    restarted.poll();
    expect(h.take('vote-request').map((r) => [r.to, r.preVote, r.epoch])).toEqual([[2, true, 2], [3, true, 2]]);
    // A voter following the leader elected meanwhile refuses and names it.
    restarted.handle({ type: 'vote-response', from: 2, to: 1, preVote: true, requestEpoch: 2, epoch: 2, leaderId: 3, granted: false });
    expect([restarted.role(), restarted.leaderId(), restarted.epoch()]).toEqual(['follower', 3, 2]);
  });

  it('starts unattached when the stored leader is no longer a voter', () => {
    const h = new Harness();
    const store = new MemoryQuorumStateStore();
    store.write({ epoch: 4, votedFor: null, leaderId: 9 });
    const restarted = h.node(2, logOf(1), store);
    expect([restarted.role(), restarted.epoch()]).toEqual(['unattached', 4]);
  });
});

describe('graceful resignation (EndQuorumEpoch)', () => {
  it('the leader steps down in its epoch and names the voters that acknowledged more first', () => {
    const h = new Harness();
    const leader = h.node(1, logOf(1, 1));
    h.elect(leader, 3);
    h.flush(leader);
    const epoch = leader.epoch();
    leader.handle(fetch(2, 1, epoch, 1, 1));
    leader.handle(fetch(3, 1, epoch, 3, epoch));
    h.sent.length = 0;
    leader.resign();
    expect([leader.role(), leader.epoch(), leader.votedFor(), leader.leaderId()]).toEqual(['unattached', epoch, 1, null]);
    expect(h.take('end-quorum-epoch')).toEqual([
      { type: 'end-quorum-epoch', from: 1, to: 3, epoch, preferredSuccessors: [3, 2] },
      { type: 'end-quorum-epoch', from: 1, to: 2, epoch, preferredSuccessors: [3, 2] },
    ]);
    leader.resign();
    expect(h.sent).toEqual([]);
  });

  it('a sole voter keeps leading: there is nobody to hand over to', () => {
    const h = new Harness();
    const node = new RaftNode({
      id: 1, voters: [1], snapshotVoters: () => null, log: new MemoryRaftLog(), store: new MemoryQuorumStateStore(), clock: h.clock,
      random: new SeededRandom(1), config, channel: { send: (m) => h.sent.push(m) }, listener: { onCommit: () => undefined, onSnapshot: () => undefined },
    });
    node.poll();
    expect(node.role()).toBe('leader');
    node.resign();
    expect(node.role()).toBe('leader');
    expect(h.sent.filter((m) => m.type === 'end-quorum-epoch')).toEqual([]);
  });

  /** Node `id` following leader 1 in `epoch`, having fetched from it successfully. */
  function follower(h: Harness, id: NodeId, epoch: Epoch): RaftNode {
    const node = h.node(id, logOf(1));
    node.handle({ type: 'begin-quorum-epoch', from: 1, to: id, epoch });
    const req = h.take('fetch-request')[0]!;
    node.handle({
      type: 'fetch-response', from: 1, to: id, error: 'none', epoch, leaderId: 1, fetchOffset: req.fetchOffset,
      lastFetchedEpoch: req.lastFetchedEpoch, highWatermark: 0, entries: [], divergingEpoch: null, snapshotId: null,
    });
    h.sent.length = 0;
    return node;
  }

  it('the first successor campaigns at once, and the others grant its pre-vote without waiting', () => {
    const h = new Harness();
    const first = follower(h, 2, 4);
    const second = follower(h, 3, 4);
    second.handle({ type: 'end-quorum-epoch', from: 1, to: 3, epoch: 4, preferredSuccessors: [2, 3] });
    first.handle({ type: 'end-quorum-epoch', from: 1, to: 2, epoch: 4, preferredSuccessors: [2, 3] });
    expect(first.nextWakeupMs()).toBe(h.clock.nowMs());
    first.poll();
    expect(first.role()).toBe('prospective');
    const preVote = h.take('vote-request').find((m) => m.to === 3)!;
    second.handle(preVote);
    expect(h.take('vote-response')[0]).toMatchObject({ granted: true, preVote: true, leaderId: null });
    // The second waits one retry backoff before it would campaign itself.
    expect(second.nextWakeupMs()).toBe(h.clock.nowMs() + config.retryBackoffMs);
    expect(second.role()).toBe('follower');
  });

  it('ignores one for an older epoch or about a leader it does not follow', () => {
    const h = new Harness();
    const node = follower(h, 2, 4);
    const wakeup = node.nextWakeupMs();
    node.handle({ type: 'end-quorum-epoch', from: 1, to: 2, epoch: 3, preferredSuccessors: [2, 3] });
    node.handle({ type: 'end-quorum-epoch', from: 3, to: 2, epoch: 4, preferredSuccessors: [2, 1] });
    expect(node.nextWakeupMs()).toBe(wakeup);
    node.handle(voteRequest(3, 2, 5, 9, 100, true));
    expect(h.take('vote-response')[0]).toMatchObject({ granted: false, leaderId: 1 });
  });
});

describe('SeededRandom', () => {
  it('replays the same stream from the same seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const draws = Array.from({ length: 100 }, () => a.nextInt(1000));
    expect(Array.from({ length: 100 }, () => b.nextInt(1000))).toEqual(draws);
    expect(new Set(draws).size).toBeGreaterThan(50);
    expect(draws.every((d) => d >= 0 && d < 1000)).toBe(true);
  });
});
