/**
 * A deterministic cluster simulator in the manner of TigerBeetle's VOPR and Kafka's
 * RaftEventSimulationTest: one seed draws the swarm parameters (delays, loss, duplication,
 * partitions, crashes, proposal rate) and drives every random choice after, so a failure
 * replays exactly from `SEED=<n> NODES=<k>`. The real `RaftNode` runs unchanged on a
 * virtual clock, an event queue standing in for the network, and `MemoryRaftLog`s that
 * lose unflushed entries when their node crashes.
 *
 * With `membership`, the first `nodes - 2` nodes are the bootstrap voters and the rest start
 * as observers; every so often the current leader is asked to add an observer or remove a
 * voter (itself sometimes), one change at a time (KIP-853). The checkers then also see that
 * each committed voter set differs from the previous one by one voter, that committed
 * entries stay durable on enough voters of the committed set that every majority of it
 * meets one, and that the leader that emerges after healing is a voter of the final set.
 *
 * In about half the seeds nodes snapshot their state machine (the committed entries) every
 * few committed entries and delete the log prefix below, so followers that fall behind
 * catch up by FetchSnapshot; the checkers then find committed entries in snapshots too.
 *
 * A crash that hits a leader is sometimes a graceful stop: the leader resigns first, sending
 * EndQuorumEpoch to the voters, which then elect a successor without waiting for a timeout.
 *
 * A run has two phases. Safety: faults come and go while the checker verifies every event.
 * Liveness: the network heals, crashed nodes restart and faults stop; a leader must emerge,
 * and proposals made to it must commit on every node within a bound of virtual time.
 */
import type { Clock } from '../clock.js';
import type { RaftMessage } from './messages.js';
import type { RaftConfig } from './raft-config.js';
import { MemoryRaftLog, type RaftLog, type SnapshotChunk } from './raft-log.js';
import { RaftNode } from './raft-node.js';
import { MemoryQuorumStateStore } from './quorum-state-store.js';
import { SeededRandom } from './random.js';
import { SafetyChecker, SafetyViolation } from './safety-checker.js';
import { majorityOf, type Epoch, type LogEntry, type NodeId, type OffsetAndEpoch } from './types.js';
import { decodeVotersRecord, VoterSet, ZERO_DIRECTORY_ID } from './voter-set.js';

export interface SwarmParameters {
  readonly nodes: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Per chaos step (every `CHAOS_STEP_MS`). */
  readonly partitionRate: number;
  readonly healRate: number;
  readonly crashRate: number;
  readonly restartRate: number;
  readonly proposeEveryMs: number;
  readonly safetyPhaseMs: number;
  /** Small batches leave old-epoch entries replicated without the new leader's entry (Figure 8). */
  readonly maxFetchEntries: number;
  /** A node snapshots once this many entries committed since its last snapshot; 0: never. */
  readonly snapshotEveryEntries: number;
}

export interface SimulationResult {
  readonly seed: number;
  readonly swarm: SwarmParameters;
  readonly events: number;
  readonly elections: number;
  readonly committed: number;
  readonly livenessMs: number;
  /** Snapshots followers fetched from a leader and installed. */
  readonly snapshotsInstalled: number;
  /** Leaders stopped gracefully: resigned (EndQuorumEpoch) right before they crashed. */
  readonly gracefulStops: number;
  /** Voter changes a leader accepted, and the voter set committed last (membership runs). */
  readonly voterChangesAccepted: number;
  readonly finalVoters: readonly NodeId[];
}

export interface SimulationOptions {
  /** Change the voter set under the faults (see above). */
  readonly membership?: boolean;
}

/** Longest pause between two voter change requests in a membership run. */
const RECONFIGURE_EVERY_MS_MAX = 300;
/** Observers outside the bootstrap voters in a membership run. */
const MEMBERSHIP_OBSERVERS = 2;

const CHAOS_STEP_MS = 50;
/** Of the crashes that hit a leader, the share that are graceful stops (resign first). */
const GRACEFUL_STOP_SHARE = 0.5;
const LIVENESS_STEP_MS = 10;
const LIVENESS_PROPOSALS = 5;
/**
 * Heal to fully replicated: a few election rounds, far above the usual, plus one round trip
 * per fetch batch of the longest log, since a follower may have to fetch all of it.
 */
const LIVENESS_BOUND_MS = 5_000;
const TRACE_LENGTH = 40;
/** Far more events than a cluster of five produces in one millisecond; more means a busy loop. */
const MAX_EVENTS_AT_ONE_INSTANT = 10_000;

/** Timeouts well above the largest network delay, as a real deployment would set them. */
export const SIM_RAFT_CONFIG: RaftConfig = {
  electionTimeoutMs: 150,
  fetchTimeoutMs: 300,
  fetchBackoffMs: 25,
  retryBackoffMs: 60,
  appendLingerMs: 5,
  maxFetchEntries: 16,
};

export function drawSwarm(seed: number, nodes: number): SwarmParameters {
  const r = new SeededRandom(seed ^ 0x5eed);
  const snapshotRandom = new SeededRandom(seed ^ 0x54a9);
  const maxDelayMs = r.between(1, 25);
  return {
    nodes,
    minDelayMs: r.between(0, maxDelayMs),
    maxDelayMs,
    dropRate: r.chance(0.3) ? 0 : r.nextFloat() * 0.3,
    duplicateRate: r.chance(0.5) ? 0 : r.nextFloat() * 0.2,
    partitionRate: r.nextFloat() * 0.15,
    healRate: r.nextFloat() * 0.3,
    crashRate: r.nextFloat() * 0.15,
    restartRate: 0.1 + r.nextFloat() * 0.4,
    proposeEveryMs: r.between(5, 100),
    safetyPhaseMs: r.between(1_000, 5_000),
    maxFetchEntries: r.chance(0.5) ? 1 : r.between(1, 16),
    // Drawn apart, so the parameters above stay what they were for every seed.
    snapshotEveryEntries: snapshotRandom.chance(0.5) ? 0 : snapshotRandom.between(2, 40),
  };
}

type SimEvent =
  | { readonly kind: 'deliver'; readonly message: RaftMessage }
  | { readonly kind: 'timer'; readonly node: NodeId; readonly generation: number }
  | { readonly kind: 'chaos' }
  | { readonly kind: 'propose' }
  | { readonly kind: 'liveness' }
  | { readonly kind: 'reconfigure' };

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly event: SimEvent;
}

/** A binary min-heap on (time, insertion order): ties resolve the same way on every replay. */
class EventQueue {
  private readonly heap: Scheduled[] = [];
  private seq = 0;

  push(at: number, event: SimEvent): void {
    const heap = this.heap;
    heap.push({ at, seq: this.seq++, event });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): Scheduled | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < heap.length && before(heap[l]!, heap[min]!)) min = l;
      if (r < heap.length && before(heap[r]!, heap[min]!)) min = r;
      if (min === i) return top;
      [heap[i], heap[min]] = [heap[min]!, heap[i]!];
      i = min;
    }
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** The simulated state machine's snapshot: the committed entries themselves, and the voter set the core asks it to carry. */
function encodeEntries(entries: readonly LogEntry[], voters: VoterSet | null): Uint8Array {
  const json = entries.map((e) => [e.epoch, e.offset, e.kind, Buffer.from(e.data).toString('hex')]);
  return new TextEncoder().encode(JSON.stringify({ entries: json, voters: voters?.ids() ?? null }));
}

function decodeSnapshot(bytes: Uint8Array): { entries: LogEntry[]; voters: VoterSet | null } {
  const json = JSON.parse(new TextDecoder().decode(bytes)) as { entries: Array<[number, number, LogEntry['kind'], string]>; voters: NodeId[] | null };
  const entries = json.entries.map(([epoch, offset, kind, hex]) => ({ epoch, offset, kind, data: new Uint8Array(Buffer.from(hex, 'hex')) }));
  return { entries, voters: json.voters === null ? null : VoterSet.ofIds(json.voters) };
}

function decodeEntries(bytes: Uint8Array): LogEntry[] {
  const { entries, voters } = decodeSnapshot(bytes);
  // The set a snapshot carries is the last committed voters entry below its end, if any.
  const last = entries.findLast((e) => e.kind === 'voters');
  const expected = last === undefined ? null : decodeVotersRecord(last.data);
  if ((expected === null) !== (voters === null) || (expected !== null && expected.distance(voters!) !== 0)) {
    throw new SafetyViolation(`snapshot carries voters ${voters} where its entries say ${expected}`);
  }
  return entries;
}

/** Reports appends, truncations and snapshots to the checker; the crash path is the simulator's own. */
class CheckedLog implements RaftLog {
  /** The latest snapshot's entries, decoded once: what the "disk" holds below the log start. */
  snapshotEntries: LogEntry[] = [];
  constructor(readonly inner: MemoryRaftLog, private readonly id: NodeId, private readonly checker: SafetyChecker) {}
  endOffset(): number { return this.inner.endOffset(); }
  startOffset(): number { return this.inner.startOffset(); }
  latestSnapshot(): OffsetAndEpoch | null { return this.inner.latestSnapshot(); }
  readSnapshot(id: OffsetAndEpoch, position: number, maxBytes: number): SnapshotChunk | undefined {
    return this.inner.readSnapshot(id, position, maxBytes);
  }
  storeSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    const entries = decodeEntries(bytes);
    this.checker.observeSnapshot(this.id, entries, false);
    this.inner.storeSnapshot(id, bytes);
    this.snapshotEntries = entries;
  }
  deleteBefore(offset: number): void { this.inner.deleteBefore(offset); }
  installSnapshot(id: OffsetAndEpoch, bytes: Uint8Array): void {
    const entries = decodeEntries(bytes);
    this.checker.observeRemoval(this.id, this.inner.read(Math.max(this.inner.startOffset(), Math.min(id.offset, this.inner.endOffset())), Infinity), 'snapshot install');
    this.checker.observeSnapshot(this.id, entries, true);
    this.inner.installSnapshot(id, bytes);
    this.snapshotEntries = entries;
  }
  /** The entry at `offset` in the log or, below its start, in the latest snapshot. */
  held(offset: number): LogEntry | undefined {
    return this.inner.entryAt(offset) ?? (offset < this.inner.startOffset() ? this.snapshotEntries[offset] : undefined);
  }
  lastEpoch(): Epoch { return this.inner.lastEpoch(); }
  flushedOffset(): number { return this.inner.flushedOffset(); }
  entryAt(offset: number): LogEntry | undefined { return this.inner.entryAt(offset); }
  read(from: number, maxEntries: number): LogEntry[] { return this.inner.read(from, maxEntries); }
  flush(): void { this.inner.flush(); }
  endOffsetForEpoch(epoch: Epoch): OffsetAndEpoch { return this.inner.endOffsetForEpoch(epoch); }
  append(entry: LogEntry): void {
    this.checker.observeAppend(this.id, entry, this.inner.lastEpoch());
    this.inner.append(entry);
  }
  truncateTo(offset: number): void {
    this.checker.observeRemoval(this.id, this.inner.read(Math.min(offset, this.inner.endOffset()), Infinity), 'truncation');
    this.inner.truncateTo(offset);
  }
}

interface SimNode {
  readonly id: NodeId;
  readonly disk: MemoryRaftLog;
  readonly log: CheckedLog;
  readonly store: MemoryQuorumStateStore;
  raft: RaftNode | null;
  /** The state machine: every committed entry, in order (loaded from the latest snapshot at start). */
  applied: LogEntry[];
  /** Invalidates timers scheduled before a crash or a reschedule. */
  generation: number;
  timerAt: number;
}

interface TraceLine {
  readonly at: number;
  readonly event: SimEvent;
}

export class Simulation {
  readonly swarm: SwarmParameters;
  private readonly random: SeededRandom;
  private readonly queue = new EventQueue();
  private readonly checker: SafetyChecker;
  private readonly nodes: SimNode[] = [];
  private readonly bootstrapVoters: VoterSet;
  private readonly membership: boolean;
  private voterChangesAccepted = 0;
  private readonly clock: Clock;
  /** Node id to partition group; nodes talk only within a group. */
  private readonly group = new Map<NodeId, number>();
  private readonly trace: TraceLine[] = [];
  private now = 0;
  private events = 0;
  private elections = 0;
  private faulty = true;
  private livenessStartMs = 0;
  private livenessDeadlineMs = Infinity;
  private livenessProposals: LogEntry[] = [];
  private converged = false;
  private proposalCounter = 0;
  private snapshotsInstalled = 0;
  private gracefulStops = 0;

  private readonly config: RaftConfig;

  constructor(readonly seed: number, nodes: number, options: SimulationOptions = {}) {
    this.swarm = drawSwarm(seed, nodes);
    this.membership = options.membership ?? false;
    const bootstrap = this.membership ? nodes - MEMBERSHIP_OBSERVERS : nodes;
    if (bootstrap < 1) throw new Error(`a membership run needs more than ${MEMBERSHIP_OBSERVERS} nodes`);
    this.bootstrapVoters = VoterSet.ofIds(Array.from({ length: bootstrap }, (_, i) => i + 1));
    this.checker = new SafetyChecker(this.bootstrapVoters);
    this.config = { ...SIM_RAFT_CONFIG, maxFetchEntries: this.swarm.maxFetchEntries };
    this.random = new SeededRandom(seed);
    this.clock = { nowMs: () => this.now };
    for (let id = 1; id <= nodes; id++) {
      const disk = new MemoryRaftLog();
      const node: SimNode = {
        id, disk, log: new CheckedLog(disk, id, this.checker), store: new MemoryQuorumStateStore(),
        raft: null, generation: 0, timerAt: Infinity, applied: [],
      };
      this.nodes.push(node);
      this.group.set(id, 0);
    }
  }

  /** Runs both phases; throws a SafetyViolation naming the seed on any failure. */
  run(): SimulationResult {
    try {
      for (const node of this.nodes) this.start(node);
      this.queue.push(CHAOS_STEP_MS, { kind: 'chaos' });
      this.queue.push(this.swarm.proposeEveryMs, { kind: 'propose' });
      this.queue.push(this.swarm.safetyPhaseMs, { kind: 'liveness' });
      if (this.membership) this.queue.push(this.random.between(1, RECONFIGURE_EVERY_MS_MAX), { kind: 'reconfigure' });
      this.loop();
    } catch (err) {
      throw new SafetyViolation(this.describeFailure(err), { cause: err });
    }
    return {
      seed: this.seed, swarm: this.swarm, events: this.events, elections: this.elections,
      committed: this.checker.committed.length, livenessMs: this.now - this.livenessStartMs,
      snapshotsInstalled: this.snapshotsInstalled, gracefulStops: this.gracefulStops, voterChangesAccepted: this.voterChangesAccepted,
      finalVoters: this.checker.committedVoters().ids(),
    };
  }

  private loop(): void {
    let eventsAtInstant = 0;
    while (!this.converged) {
      const next = this.queue.pop();
      if (next === undefined) throw new SafetyViolation('event queue ran dry');
      eventsAtInstant = next.at === this.now ? eventsAtInstant + 1 : 0;
      if (eventsAtInstant > MAX_EVENTS_AT_ONE_INSTANT) throw new SafetyViolation('virtual time stands still: a node wakes up without progress');
      if (next.at > this.livenessDeadlineMs) {
        const boundMs = this.livenessDeadlineMs - this.livenessStartMs;
        throw new SafetyViolation(`liveness: not converged ${boundMs} ms after healing (${this.livenessState()})`);
      }
      this.now = next.at;
      this.events++;
      this.trace.push({ at: next.at, event: next.event });
      if (this.trace.length > TRACE_LENGTH) this.trace.shift();
      this.dispatch(next.event);
      this.checkAfterEvent();
      for (const node of this.nodes) this.maybeSnapshot(node);
    }
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'deliver': {
        const node = this.nodes[event.message.to - 1]!;
        if (node.raft === null || !this.connected(event.message.from, event.message.to)) return;
        node.raft.handle(event.message);
        return this.reschedule(node);
      }
      case 'timer': {
        const node = this.nodes[event.node - 1]!;
        if (node.raft === null || event.generation !== node.generation) return;
        node.timerAt = Infinity;
        node.raft.poll();
        return this.reschedule(node);
      }
      case 'chaos':
        return this.chaos();
      case 'propose':
        return this.proposeRandomly();
      case 'liveness':
        return this.livenessStep();
      case 'reconfigure':
        return this.reconfigure();
    }
  }

  private start(node: SimNode): void {
    const latest = node.log.latestSnapshot();
    node.applied = latest === null ? [] : node.log.snapshotEntries.slice();
    const raft = new RaftNode({
      id: node.id,
      voters: this.bootstrapVoters,
      snapshotVoters: (bytes) => decodeSnapshot(bytes).voters,
      log: node.log,
      store: node.store,
      clock: this.clock,
      random: new SeededRandom(this.random.nextUint32()),
      channel: { send: (message) => this.send(message) },
      listener: {
        onCommit: (entries, hw) => {
          this.checker.observeCommit(node.id, entries, hw);
          node.applied.push(...entries);
        },
        onSnapshot: (id, bytes) => {
          this.snapshotsInstalled++;
          node.applied = decodeEntries(bytes);
          if (node.applied.length !== id.offset) throw new SafetyViolation(`node ${node.id} installed snapshot ${id.offset} of ${node.applied.length} entries`);
        },
      },
      config: this.config,
    });
    node.raft = raft;
    this.checker.observeRestart(node.id, node.applied.length);
    this.reschedule(node);
  }

  /** Between events, as a state machine would after the core's step: snapshot and delete the prefix below. */
  private maybeSnapshot(node: SimNode): void {
    const every = this.swarm.snapshotEveryEntries;
    if (every === 0 || node.raft === null) return;
    const hw = node.raft.highWatermark();
    if (hw - (node.log.latestSnapshot()?.offset ?? 0) < every) return;
    if (node.applied.length !== hw) throw new SafetyViolation(`node ${node.id} applied ${node.applied.length} entries, high watermark ${hw}`);
    const last = node.log.entryAt(hw - 1)!;
    node.log.storeSnapshot({ offset: hw, epoch: last.epoch }, encodeEntries(node.applied, node.raft.snapshotVoterSet(hw)));
    node.log.deleteBefore(hw);
  }

  private crash(node: SimNode): void {
    node.raft = null;
    node.generation++;
    node.timerAt = Infinity;
    node.disk.loseUnflushed();
    // What must hold: no majority of the committed voter set can elect a leader without a
    // copy of each committed entry, so more than size - majority of its voters hold it. (A
    // leader already counting an appended set commits with that set's majorities, which
    // for an even committed set can be fewer than a majority of it, yet still meet all of them.)
    const voters = this.checker.committedVoters();
    const durable = new Map(this.nodes.filter((n) => voters.has(n.id))
      .map((n) => [n.id, (o: number) => (o < n.disk.flushedOffset() ? n.log.held(o) : undefined)]));
    this.checker.checkCommittedDurable(durable, voters.size() - majorityOf(voters.size()) + 1);
  }

  private reschedule(node: SimNode): void {
    if (node.raft === null) return;
    const at = Math.max(this.now, node.raft.nextWakeupMs());
    if (at === node.timerAt) return;
    node.generation++;
    node.timerAt = at;
    this.queue.push(at, { kind: 'timer', node: node.id, generation: node.generation });
  }

  private send(message: RaftMessage): void {
    if (!this.connected(message.from, message.to)) return;
    if (this.faulty && this.random.chance(this.swarm.dropRate)) return;
    this.queue.push(this.now + this.delay(), { kind: 'deliver', message });
    if (this.faulty && this.random.chance(this.swarm.duplicateRate)) {
      this.queue.push(this.now + this.delay(), { kind: 'deliver', message });
    }
  }

  private delay(): number {
    return this.random.between(this.swarm.minDelayMs, this.swarm.maxDelayMs);
  }

  private connected(a: NodeId, b: NodeId): boolean {
    return this.group.get(a) === this.group.get(b);
  }

  private chaos(): void {
    if (!this.faulty) return;
    const r = this.random;
    if (r.chance(this.swarm.partitionRate)) {
      for (const node of this.nodes) this.group.set(node.id, r.nextInt(2));
    }
    if (r.chance(this.swarm.healRate)) for (const node of this.nodes) this.group.set(node.id, 0);
    const up = this.nodes.filter((n) => n.raft !== null);
    const down = this.nodes.filter((n) => n.raft === null);
    if (up.length > 0 && r.chance(this.swarm.crashRate)) {
      const node = up[r.nextInt(up.length)]!;
      // A graceful stop: the leader hands over (EndQuorumEpoch) just before its process ends.
      if (node.raft!.role() === 'leader' && r.chance(GRACEFUL_STOP_SHARE)) {
        node.raft!.resign();
        this.gracefulStops++;
      }
      this.crash(node);
    }
    if (down.length > 0 && r.chance(this.swarm.restartRate)) this.start(down[r.nextInt(down.length)]!);
    this.queue.push(this.now + CHAOS_STEP_MS, { kind: 'chaos' });
  }

  private proposeRandomly(): void {
    if (!this.faulty) return;
    const up = this.nodes.filter((n) => n.raft !== null);
    if (up.length > 0) {
      const node = up[this.random.nextInt(up.length)]!;
      node.raft!.propose(this.nextProposal());
      this.reschedule(node);
    }
    this.queue.push(this.now + this.random.between(1, this.swarm.proposeEveryMs), { kind: 'propose' });
  }

  /**
   * Asks the current leader (the one of the highest epoch, if several think they lead) to
   * add an observer or remove a voter, keeping 1 to all nodes voting; refusals (a change
   * pending, the epoch not committed yet, an observer behind) are what a client would see.
   */
  private reconfigure(): void {
    if (!this.faulty) return;
    const leaders = this.nodes.filter((n) => n.raft?.role() === 'leader');
    const leader = leaders.sort((a, b) => b.raft!.epoch() - a.raft!.epoch())[0];
    if (leader !== undefined) {
      const raft = leader.raft!;
      const voters = raft.voters();
      const observers = this.nodes.filter((n) => !voters.has(n.id));
      const add = observers.length > 0 && (voters.size() === 1 || this.random.chance(0.5));
      const result = add
        ? raft.addVoter({ id: observers[this.random.nextInt(observers.length)]!.id, directoryId: ZERO_DIRECTORY_ID, endpoints: [] })
        : raft.removeVoter(voters.ids()[this.random.nextInt(voters.size())]!, ZERO_DIRECTORY_ID);
      if (result.accepted) this.voterChangesAccepted++;
      this.reschedule(leader);
    }
    this.queue.push(this.now + this.random.between(1, RECONFIGURE_EVERY_MS_MAX), { kind: 'reconfigure' });
  }

  private nextProposal(): Uint8Array {
    return new TextEncoder().encode(`p${this.proposalCounter++}`);
  }

  /**
   * Heal everything once, then each step: wait for a leader that every voter follows,
   * propose to it, and finish when every node holds and has committed all of it. A leader
   * may still change right after healing (a node timed out just before); like a client, the
   * step proposes again whatever the current leader's log no longer holds.
   */
  private livenessStep(): void {
    if (this.faulty) {
      this.faulty = false;
      this.livenessStartMs = this.now;
      const longestLog = Math.max(...this.nodes.map((n) => n.log.endOffset())) + LIVENESS_PROPOSALS;
      const catchUpMs = Math.ceil(longestLog / this.swarm.maxFetchEntries) * 2 * this.swarm.maxDelayMs;
      this.livenessDeadlineMs = this.now + LIVENESS_BOUND_MS + catchUpMs;
      for (const node of this.nodes) {
        this.group.set(node.id, 0);
        if (node.raft === null) this.start(node);
      }
    }
    const leader = this.stableLeader();
    if (leader !== null) {
      if (this.livenessProposals.length < LIVENESS_PROPOSALS) this.livenessProposals.push(this.proposeTo(leader, this.nextProposal()));
      this.livenessProposals = this.livenessProposals.map((p) => (this.isLost(leader, p) ? this.proposeTo(leader, p.data) : p));
      this.converged = this.livenessProposals.length === LIVENESS_PROPOSALS && this.hasConverged(leader);
    }
    this.queue.push(this.now + LIVENESS_STEP_MS, { kind: 'liveness' });
  }

  private proposeTo(leader: SimNode, data: Uint8Array): LogEntry {
    const result = leader.raft!.propose(data);
    if (!result.accepted) throw new SafetyViolation(`stable leader ${leader.id} refused a proposal`);
    this.reschedule(leader);
    return leader.log.entryAt(result.offset)!;
  }

  private isLost(leader: SimNode, proposal: LogEntry): boolean {
    const held = leader.log.held(proposal.offset);
    return held === undefined || held.epoch !== proposal.epoch;
  }

  private stableLeader(): SimNode | null {
    const leader = this.nodes.find((n) => n.raft?.role() === 'leader');
    if (leader === undefined) return null;
    const epoch = leader.raft!.epoch();
    const followed = this.nodes.every((n) => n === leader || (n.raft?.leaderId() === leader.id && n.raft.epoch() === epoch));
    return followed && leader.raft!.highWatermark() > 0 ? leader : null;
  }

  private hasConverged(leader: SimNode): boolean {
    const end = leader.log.endOffset();
    if (!this.livenessProposals.every((p) => this.checker.isCommitted(p))) return false;
    if (!this.nodes.every((n) => n.raft!.highWatermark() === end && n.log.endOffset() === end)) return false;
    // Everything committed, its own voter set included: a leader outside it would have resigned.
    if (!this.checker.committedVoters().has(leader.id)) throw new SafetyViolation(`leader ${leader.id} is not a voter of ${this.checker.committedVoters()}`);
    return true;
  }

  private checkAfterEvent(): void {
    for (const node of this.nodes) {
      const raft = node.raft;
      if (raft === null) continue;
      this.checker.observeHighWatermark(node.id, raft.highWatermark());
      if (raft.role() === 'leader') {
        if (this.checker.observeLeader(node.id, raft.epoch(), (o) => node.log.held(o))) this.elections++;
      }
    }
  }

  private livenessState(): string {
    return this.nodes
      .map((n) => `${n.id}:${n.raft?.role() ?? 'down'}@${n.raft?.epoch() ?? '-'} end=${n.log.endOffset()} hw=${n.raft?.highWatermark() ?? '-'}`)
      .join(' ');
  }

  private describeFailure(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    const trace = this.trace.map((t) => `  t=${t.at} ${describeEvent(t.event)}`).join('\n');
    return [
      `SEED=${this.seed} NODES=${this.swarm.nodes} at t=${this.now} ms after ${this.events} events: ${message}`,
      `swarm: ${JSON.stringify(this.swarm)}`,
      `replay: SIM_SEED=${this.seed} SIM_NODES=${this.swarm.nodes} npx vitest run kernel/src/raft/simulator.test.ts`,
      `nodes: ${this.livenessState()}`,
      `last events:\n${trace}`,
    ].join('\n');
  }
}

function describeEvent(event: SimEvent): string {
  if (event.kind !== 'deliver') return event.kind === 'timer' ? `timer node ${event.node}` : event.kind;
  const { entries, ...rest } = event.message as RaftMessage & { entries?: readonly LogEntry[] };
  const summary = entries === undefined ? '' : ` entries=[${entries.map((e) => `${e.offset}@${e.epoch}`).join(',')}]`;
  return `deliver ${JSON.stringify(rest)}${summary}`;
}
