/**
 * RaftNode with a changing voter set (KIP-853): the leader's add and remove rules, majorities
 * over the set of the last appended voters entry, a leader removing itself, truncation
 * reverting the set, and nodes outside the set observing.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { RaftMessage } from './messages.js';
import { DEFAULT_RAFT_CONFIG } from './raft-config.js';
import { MemoryRaftLog } from './raft-log.js';
import { RaftNode } from './raft-node.js';
import { MemoryQuorumStateStore } from './quorum-state-store.js';
import { SeededRandom } from './random.js';
import type { Epoch, LogEntry, NodeId } from './types.js';
import { encodeVotersRecord, VoterSet, ZERO_DIRECTORY_ID, type Voter } from './voter-set.js';

const config = DEFAULT_RAFT_CONFIG;

function voter(id: NodeId, directoryId = ZERO_DIRECTORY_ID): Voter {
  return { id, directoryId, endpoints: [{ name: 'CONTROLLER', host: `c${id}`, port: 9093 }] };
}

class Harness {
  readonly clock = new ManualClock(0);
  readonly sent: RaftMessage[] = [];
  readonly committed: LogEntry[] = [];

  node(id: NodeId, voters: VoterSet | readonly NodeId[] = [1, 2, 3], log = new MemoryRaftLog()): RaftNode {
    return new RaftNode({
      id, voters, snapshotVoters: () => null, log, store: new MemoryQuorumStateStore(), clock: this.clock,
      random: new SeededRandom(id), config, channel: { send: (m) => this.sent.push(m) },
      listener: { onCommit: (entries) => this.committed.push(...entries), onSnapshot: () => undefined },
    });
  }

  take<T extends RaftMessage['type']>(type: T): Extract<RaftMessage, { type: T }>[] {
    const taken = this.sent.filter((m): m is Extract<RaftMessage, { type: T }> => m.type === type);
    this.sent.length = 0;
    return taken;
  }

  /** `node` wins an election with the votes of `granters`. */
  elect(node: RaftNode, ...granters: NodeId[]): void {
    this.clock.advance(2 * config.electionTimeoutMs);
    node.poll();
    for (const preVote of [true, false]) {
      for (const req of this.take('vote-request').filter((m) => granters.includes(m.to) && m.preVote === preVote)) {
        node.handle({
          type: 'vote-response', from: req.to, to: node.id, preVote, requestEpoch: req.epoch,
          epoch: preVote ? req.epoch - 1 : req.epoch, leaderId: null, granted: true,
        });
      }
    }
    expect(node.role()).toBe('leader');
  }

  flush(node: RaftNode): void {
    this.clock.advance(config.appendLingerMs);
    node.poll();
  }

  /** A leader elected by node 2 whose leader-change entry is committed by node 2's fetch. */
  committedLeader(voters: VoterSet | readonly NodeId[] = [1, 2, 3]): RaftNode {
    const leader = this.node(1, voters);
    this.elect(leader, 2);
    this.flush(leader);
    leader.handle(fetch(2, 1, leader.epoch(), 1, leader.epoch()));
    expect(leader.highWatermark()).toBe(1);
    this.sent.length = 0;
    return leader;
  }
}

function fetch(from: NodeId, to: NodeId, epoch: Epoch, fetchOffset: number, lastFetchedEpoch: Epoch): RaftMessage {
  return { type: 'fetch-request', from, to, epoch, fetchOffset, lastFetchedEpoch };
}

describe('adding a voter', () => {
  it('is refused until the leader committed an entry of its own epoch', () => {
    const h = new Harness();
    const leader = h.node(1);
    h.elect(leader, 2);
    expect(leader.addVoter(voter(4))).toMatchObject({ accepted: false, error: 'request-timed-out', message: expect.stringMatching(/not committed an entry of its epoch/) });
  });

  it('needs a caught-up observer, takes effect on append, and commits with the new majority', () => {
    const h = new Harness();
    const leader = h.committedLeader();
    const epoch = leader.epoch();
    expect(leader.addVoter(voter(4))).toMatchObject({ accepted: false, error: 'request-timed-out', message: expect.stringMatching(/not an observer/) });
    // Node 4 fetches as an observer, up to the high watermark, but too long ago.
    leader.handle(fetch(4, 1, epoch, 1, epoch));
    h.clock.advance(config.fetchTimeoutMs + 1);
    leader.handle(fetch(2, 1, epoch, 1, epoch));
    expect(leader.addVoter(voter(4))).toMatchObject({ accepted: false, error: 'request-timed-out' });
    leader.handle(fetch(4, 1, epoch, 1, epoch));
    expect(leader.addVoter(voter(2))).toMatchObject({ accepted: false, error: 'duplicate-voter' });
    const added = leader.addVoter(voter(4));
    expect(added).toMatchObject({ accepted: true, offset: 1, epoch });
    expect(leader.voters().ids()).toEqual([1, 2, 3, 4]);
    // One change at a time.
    expect(leader.removeVoter(3, ZERO_DIRECTORY_ID)).toMatchObject({ accepted: false, error: 'request-timed-out', message: expect.stringMatching(/not committed yet/) });

    h.flush(leader);
    leader.handle(fetch(2, 1, epoch, 2, epoch));
    // Leader and node 2 were a majority of three, not of four.
    expect(leader.highWatermark()).toBe(1);
    leader.handle(fetch(4, 1, epoch, 2, epoch));
    expect(leader.highWatermark()).toBe(2);
    expect(h.committed.at(-1)).toMatchObject({ offset: 1, kind: 'voters' });
    // Node 4's fetches now count: it is a voter in the leader's progress.
    expect(leader.voterProgress()!.map((p) => p.id).sort()).toEqual([2, 3, 4]);
  });
});

describe('removing a voter', () => {
  it('refuses unknown voters, another directory, and the last voter', () => {
    const h = new Harness();
    const dir2 = new Uint8Array(16).fill(2);
    const leader = h.committedLeader(new VoterSet([voter(1), voter(2, dir2), voter(3)]));
    expect(leader.removeVoter(9, ZERO_DIRECTORY_ID)).toMatchObject({ accepted: false, error: 'voter-not-found' });
    expect(leader.removeVoter(2, new Uint8Array(16).fill(7))).toMatchObject({ accepted: false, error: 'voter-not-found' });
    expect(leader.removeVoter(2, dir2)).toMatchObject({ accepted: true });

    const soleHarness = new Harness();
    const committedSole = soleHarness.node(1, [1]);
    committedSole.poll();
    soleHarness.flush(committedSole);
    expect(committedSole.highWatermark()).toBe(1);
    expect(committedSole.removeVoter(1, ZERO_DIRECTORY_ID)).toMatchObject({ accepted: false, error: 'invalid-request' });
  });

  it('a leader removing itself leads until the entry commits without counting itself, then resigns and observes', () => {
    const h = new Harness();
    const leader = h.committedLeader();
    const epoch = leader.epoch();
    expect(leader.removeVoter(1, ZERO_DIRECTORY_ID)).toMatchObject({ accepted: true, offset: 1 });
    expect(leader.isVoter()).toBe(false);
    h.flush(leader);
    leader.handle(fetch(2, 1, epoch, 2, epoch));
    // Its own flushed log no longer counts: {2, 3} needs both.
    expect(leader.highWatermark()).toBe(1);
    expect(leader.role()).toBe('leader');
    leader.handle(fetch(3, 1, epoch, 2, epoch));
    expect(leader.highWatermark()).toBe(2);
    expect(leader.role()).toBe('unattached');
    h.sent.length = 0;
    // It never campaigns again: it looks for the leader among the voters.
    for (let i = 0; i < 5; i++) {
      h.clock.advance(2 * config.electionTimeoutMs);
      leader.poll();
    }
    expect(h.sent.some((m) => m.type === 'vote-request')).toBe(false);
    expect(new Set(h.take('fetch-request').map((m) => m.to))).toEqual(new Set([2, 3]));
  });
});

describe('the voter set of a follower', () => {
  it('follows appended voters entries and reverts when one is truncated', () => {
    const h = new Harness();
    const follower = h.node(2);
    follower.handle({ type: 'begin-quorum-epoch', from: 1, to: 2, epoch: 1 });
    const request = h.take('fetch-request')[0]!;
    const votersEntry: LogEntry = { epoch: 1, offset: 1, kind: 'voters', data: encodeVotersRecord(VoterSet.ofIds([1, 2, 3, 4])) };
    follower.handle({
      type: 'fetch-response', from: 1, to: 2, error: 'none', epoch: 1, leaderId: 1, fetchOffset: request.fetchOffset,
      lastFetchedEpoch: request.lastFetchedEpoch, highWatermark: 0, divergingEpoch: null, snapshotId: null,
      entries: [{ epoch: 1, offset: 0, kind: 'leader-change', data: new Uint8Array(0) }, votersEntry],
    });
    expect(follower.voters().ids()).toEqual([1, 2, 3, 4]);
    // A new leader of epoch 2 never had the entry: the follower truncates it away.
    follower.handle({ type: 'begin-quorum-epoch', from: 3, to: 2, epoch: 2 });
    const next = h.take('fetch-request').at(-1)!;
    follower.handle({
      type: 'fetch-response', from: 3, to: 2, error: 'none', epoch: 2, leaderId: 3, fetchOffset: next.fetchOffset,
      lastFetchedEpoch: next.lastFetchedEpoch, highWatermark: 0, entries: [], divergingEpoch: { offset: 1, epoch: 1 }, snapshotId: null,
    });
    expect(follower.voters().ids()).toEqual([1, 2, 3]);
  });
});

describe('a node outside the voter set', () => {
  it('never campaigns and finds the leader by fetching from the voters', () => {
    const h = new Harness();
    const observer = h.node(4);
    expect(observer.isVoter()).toBe(false);
    observer.poll();
    const asked = h.take('fetch-request')[0]!;
    expect([1, 2, 3]).toContain(asked.to);
    observer.handle({
      type: 'fetch-response', from: asked.to, to: 4, error: 'not-leader', epoch: 3, leaderId: 1, fetchOffset: 0,
      lastFetchedEpoch: 0, highWatermark: 0, entries: [], divergingEpoch: null, snapshotId: null,
    });
    expect(observer.role()).toBe('follower');
    expect(observer.leaderId()).toBe(1);
    expect(h.take('fetch-request').map((m) => m.to)).toEqual([1]);
    // The leader goes silent: the observer looks again instead of starting an election.
    h.clock.advance(config.fetchTimeoutMs);
    observer.poll();
    h.clock.advance(2 * config.electionTimeoutMs);
    observer.poll();
    expect(observer.role()).toBe('unattached');
    expect(h.sent.some((m) => m.type === 'vote-request')).toBe(false);
  });

  it('grants votes: a node just added may have to vote before it fetched its own addition', () => {
    const h = new Harness();
    const observer = h.node(4);
    observer.handle({ type: 'vote-request', from: 1, to: 4, preVote: false, epoch: 2, lastEpoch: 1, endOffset: 3 });
    expect(h.take('vote-response')[0]).toMatchObject({ granted: true, epoch: 2 });
    expect(observer.votedFor()).toBe(1);
  });

  it('campaigns while its own removal is uncommitted, counting only the new set', () => {
    const h = new Harness();
    const log = new MemoryRaftLog();
    log.append({ epoch: 1, offset: 0, kind: 'leader-change', data: new Uint8Array(0) });
    log.append({ epoch: 1, offset: 1, kind: 'voters', data: encodeVotersRecord(VoterSet.ofIds([1, 3])) });
    log.flush();
    const removed = h.node(2, [1, 2, 3], log);
    expect(removed.isVoter()).toBe(false);
    h.elect(removed, 1, 3);
    expect(removed.role()).toBe('leader');
    expect(removed.voterProgress()!.map((p) => p.id)).toEqual([1, 3]);
  });
});
