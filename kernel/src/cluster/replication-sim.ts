/**
 * A seeded simulator for partition replication: three nodes, each with the real
 * PartitionLog (on a temp dir), ReplicaManager, PartitionLeader and ReplicaFetcher, driven
 * by virtual time (SimTime is their clock and timer) and an in-memory transport that
 * delays, drops and duplicates messages and isolates nodes. A tiny controller model owns the
 * partition state: it fences a node that crashes (at once) or stays isolated longer than a
 * session timeout, removes it from the ISR and elects a new leader from the rest of the ISR
 * (bumping the leader epoch), applies AlterPartition with Kafka's checks, and publishes
 * every state to the nodes with delays.
 *
 * Crashes lose what was not flushed. The simulator keeps each node's durable point: a
 * leader's log end after every event (leaders flush continuously; the simulator waits for
 * their syncs so that runs replay exactly), a follower's only when a simulated background
 * flush runs. On restart the log is opened with recovery and truncated to that point.
 * A crash is seen by the controller immediately, the restart comes back under a new broker
 * epoch and outside the ISR (as Kafka's KIP-966 treats an unclean shutdown).
 *
 * Checked after every event: at most one leader per epoch, and the high watermark of a
 * leader never decreases within its epoch. At the end, after healing: every replica holds
 * the same batches up to the high watermark and every acknowledged acks=all write is in the
 * final leader's log at its offset. Determinism: everything is drawn from the seed; real
 * file I/O only runs inside an event and is awaited before the next.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlterPartitionRequest, AlterPartitionResponse, Logger, ReplicaFetchRequest, ReplicaFetchResponse } from '@sluice/sdk';
import type { Clock } from '../clock.js';
import { toLogConfig } from '../config/topic-config.js';
import { ErrorCode } from '../errors.js';
import { KernelEventBus } from '../events.js';
import { buildBatch } from '../log/batch-builder.js';
import { PartitionLog } from '../log/partition-log.js';
import * as rb from '../log/record-batch.js';
import { SeededRandom } from '../raft/random.js';
import { ReplicaManager, type ReplicaPartitionState, type ReplicationSettings } from './replica-manager.js';
import type { ReplicaTimer } from './replica-timer.js';

const TOPIC = 'sim';
const TOPIC_ID = new Uint8Array(16).fill(7);
const NODE_IDS = [1, 2, 3] as const;
/** AlterPartition refusals the controller model gives, Kafka's codes. */
const INELIGIBLE_REPLICA = 107;
const INVALID_UPDATE_VERSION = 108;

/** Virtual time: the clock and the timer of every simulated node. */
export class SimTime implements Clock, ReplicaTimer {
  private now = 1_700_000_000_000;
  private seq = 0;
  private queue: Array<{ at: number; seq: number; fire: () => void; cancelled: boolean }> = [];

  nowMs(): number {
    return this.now;
  }

  after(delayMs: number, fire: () => void): () => void {
    const entry = { at: this.now + Math.max(0, delayMs), seq: this.seq++, fire, cancelled: false };
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.queue[mid]!;
      if (m.at < entry.at || (m.at === entry.at && m.seq < entry.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, entry);
    return () => {
      entry.cancelled = true;
    };
  }

  /** Moves time to the next pending event and returns it, or undefined when none is left before `limitMs`. */
  next(limitMs: number): (() => void) | undefined {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.at > limitMs) return undefined;
      this.queue.shift();
      if (head.cancelled) continue;
      this.now = head.at;
      return head.fire;
    }
    return undefined;
  }

  /** Moves time forward to `ms` without running anything (callers run what is due first). */
  skipTo(ms: number): void {
    this.now = Math.max(this.now, ms);
  }

  get startMs(): number {
    return 1_700_000_000_000;
  }
}

export interface SimParameters {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  readonly delayMsMax: number;
  /** Mean gap between chaos or client actions. */
  readonly actionGapMsMax: number;
  readonly crashProbability: number;
  readonly isolateProbability: number;
  readonly followerFlushProbability: number;
  readonly produceTimeoutMs: number;
  readonly segmentBytes: number;
}

export interface SimResult {
  readonly seed: number;
  readonly events: number;
  readonly produced: number;
  readonly acked: number;
  readonly crashes: number;
  readonly isolations: number;
  readonly leaderChanges: number;
  readonly finalHighWatermark: number;
}

export class ReplicationViolation extends Error {}

export interface SimOptions {
  /** Where node directories go; tmpfs by default on Linux. */
  readonly rootDir?: string;
  /**
   * Deliberately broken controller, for the test that the checkers catch it: the last ISR
   * member stays in the ISR and leads again after losing unflushed data.
   */
  readonly withoutUncleanRecovery?: boolean;
}

/** Drawn from the seed so that sweeps cover calm and hostile networks alike. */
function drawParameters(seed: number): SimParameters {
  const r = new SeededRandom(seed ^ 0x7e91);
  return {
    dropProbability: r.chance(0.3) ? 0 : r.nextFloat() * 0.1,
    duplicateProbability: r.chance(0.5) ? 0 : r.nextFloat() * 0.1,
    delayMsMax: r.between(1, 60),
    actionGapMsMax: r.between(20, 200),
    crashProbability: r.nextFloat() * 0.08,
    isolateProbability: r.nextFloat() * 0.05,
    followerFlushProbability: r.nextFloat() * 0.3,
    produceTimeoutMs: r.between(500, 5000),
    segmentBytes: r.chance(0.5) ? 2048 : 1 << 20,
  };
}

const SETTINGS: ReplicationSettings = {
  replicaLagTimeMaxMs: 3000, waitMaxMs: 500, minBytes: 1, partitionMaxBytes: 4096, responseMaxBytes: 16384,
  backoffMs: 200, requestTimeoutMs: 1000,
};
/** The controller fences a node it has not heard from for this long. */
const SESSION_TIMEOUT_MS = 2000;
/** Virtual time of faults and writes, then of healing until the replicas converge. */
const CHAOS_MS = 10_000;
const HEAL_MS_MAX = 60_000;
/** Longer than any timer the nodes set (fetch timeout, ISR check, metadata refresh): no event for this long means a stall. */
const QUIET_MS_MAX = 5000;

const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
/** Trace lines a failure shows. */
const TRACE_LINES_SHOWN = Number(process.env["SLUICE_SIM_TRACE_LINES"] ?? 80);

interface SimNode {
  readonly id: number;
  readonly dir: string;
  alive: boolean;
  isolated: boolean;
  /** Bumped on every crash and restart: messages for an older incarnation are dropped. */
  incarnation: number;
  brokerEpoch: number;
  log: PartitionLog;
  manager: ReplicaManager;
  /** Offsets below it survive a crash. */
  durable: number;
}

interface Acked {
  readonly offset: number;
  readonly id: number;
}

interface ControllerPartition {
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
}

export class ReplicationSimulation {
  private readonly random: SeededRandom;
  readonly params: SimParameters;
  private readonly time = new SimTime();
  private readonly root: string;
  private readonly nodes = new Map<number, SimNode>();
  private readonly controller: ControllerPartition = { replicas: [...NODE_IDS], isr: [...NODE_IDS], leader: 1, leaderEpoch: 0, partitionEpoch: 0 };
  private readonly fenced = new Set<number>();
  private readonly acked: Acked[] = [];
  /** Leader epoch -> the node that led it. */
  private readonly epochLeaders = new Map<number, number>();
  /** `${node}:${incarnation}:${epoch}` -> the leader's high watermark last seen. */
  private readonly leaderHighWatermarks = new Map<string, number>();
  private events = 0;
  private produced = 0;
  private crashes = 0;
  private isolations = 0;
  private nextPayloadId = 1;
  private chaos = true;
  private failure: Error | undefined;
  /** Chaos actions still running (a crash closing a log): the next event waits for them. */
  private readonly pending = new Set<Promise<void>>();
  /** What happened, kept for the failure message (the last TRACE_LINES_SHOWN lines). */
  private readonly trace: string[] = [];

  constructor(readonly seed: number, private readonly options: SimOptions = {}) {
    this.random = new SeededRandom(seed);
    this.params = drawParameters(seed);
    const base = options.rootDir ?? defaultSimRoot();
    mkdirSync(base, { recursive: true });
    this.root = mkdtempSync(join(base, `repl-sim-${seed}-`));
  }

  /** Runs the faults phase, heals, waits for convergence and checks; throws a ReplicationViolation naming the seed. */
  async run(): Promise<SimResult> {
    try {
      for (const id of NODE_IDS) this.nodes.set(id, this.startNode(id, 1, 0));
      for (const id of NODE_IDS) this.publishTo(id);
      this.scheduleAction();
      await this.loop(this.time.startMs + CHAOS_MS);
      this.chaos = false;
      await this.heal();
      const deadline = this.time.nowMs() + HEAL_MS_MAX;
      while (!this.converged()) {
        if (this.time.nowMs() >= deadline) this.violation(`replicas did not converge within ${HEAL_MS_MAX} ms of healing: ${this.describe()}`);
        const progressed = await this.loop(Math.min(deadline, this.time.nowMs() + QUIET_MS_MAX));
        if (!progressed && !this.converged()) this.violation(`virtual time stands still before convergence: ${this.describe()}`);
      }
      this.checkFinal();
      return {
        seed: this.seed, events: this.events, produced: this.produced, acked: this.acked.length, crashes: this.crashes,
        isolations: this.isolations, leaderChanges: this.controller.leaderEpoch,
        finalHighWatermark: this.nodes.get(this.controller.leader)!.log.highWatermark,
      };
    } finally {
      for (const node of this.nodes.values()) {
        node.manager.close();
        if (node.alive) await node.log.close().catch(() => {});
      }
      rmSync(this.root, { recursive: true, force: true });
    }
  }

  // --- the event loop ------------------------------------------------------------

  /** Runs events up to `limitMs`; returns whether any ran. */
  private async loop(limitMs: number): Promise<boolean> {
    let ran = false;
    for (;;) {
      const fire = this.time.next(limitMs);
      if (fire === undefined) return ran;
      ran = true;
      this.events++;
      fire();
      await this.settle();
      if (this.failure !== undefined) throw this.failure;
      this.checkStep();
    }
  }

  private track(action: Promise<void>): void {
    const tracked = action.catch((err: Error) => this.fail(err)).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Lets every promise chain the event started run, and every leader's sync complete. */
  private async settle(): Promise<void> {
    for (let round = 0; ; round++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.pending.size > 0) await Promise.all([...this.pending]);
      let synced = false;
      for (const node of this.nodes.values()) {
        if (!node.alive) continue;
        const log = node.log;
        if (node.manager.isLeader(TOPIC, 0)) {
          if (log.flushedOffset < log.logEndOffset) {
            await log.waitFlushed(log.logEndOffset);
            synced = true;
          }
          node.durable = log.logEndOffset;
        } else {
          node.durable = Math.min(node.durable, log.logEndOffset);
        }
      }
      if (!synced) return;
      if (round > 1000) this.violation('settling never ends: a sync keeps finding new data');
    }
  }

  private checkStep(): void {
    for (const node of this.nodes.values()) {
      if (!node.alive || !node.manager.isLeader(TOPIC, 0)) continue;
      const epoch = node.log.leaderEpoch;
      const previous = this.epochLeaders.get(epoch);
      if (previous !== undefined && previous !== node.id) this.violation(`nodes ${previous} and ${node.id} both led epoch ${epoch}`);
      this.epochLeaders.set(epoch, node.id);
      const key = `${node.id}:${node.incarnation}:${epoch}`;
      const hw = node.log.highWatermark;
      const before = this.leaderHighWatermarks.get(key);
      if (before !== undefined && hw < before) this.violation(`leader ${node.id} of epoch ${epoch}: high watermark went from ${before} to ${hw}`);
      this.leaderHighWatermarks.set(key, hw);
    }
  }

  private note(line: string): void {
    this.trace.push(`t=${this.time.nowMs() - this.time.startMs} ${line}`);
  }

  private violation(message: string): never {
    const err = new ReplicationViolation(`SEED=${this.seed} at t=${this.time.nowMs() - this.time.startMs} ms after ${this.events} events: ${message}\n` +
      `trace (last ${TRACE_LINES_SHOWN}):\n  ${this.trace.slice(-TRACE_LINES_SHOWN).join('\n  ')}\n` +
      `replay: SLUICE_SIM_SEED=${this.seed} npx vitest run kernel/src/cluster/replication-sim.test.ts`);
    this.failure ??= err;
    throw err;
  }

  // --- nodes ---------------------------------------------------------------------

  private startNode(id: number, incarnation: number, durable: number): SimNode {
    const dir = join(this.root, `node-${id}`);
    const log = PartitionLog.open({
      dir, topic: TOPIC, partition: 0, clock: this.time, log: quietLogger, recoveryPoint: 0, logStartOffset: 0,
      cleanShutdown: false, replicated: true,
      config: toLogConfig({}, { 'min.insync.replicas': '2', 'segment.bytes': String(this.params.segmentBytes) }),
    });
    // What the crash took: everything past the last flush this node is known to have done.
    log.truncateTo(durable);
    const node: SimNode = {
      id, dir, alive: true, isolated: false, incarnation, brokerEpoch: incarnation, log, durable: log.logEndOffset,
      manager: undefined as unknown as ReplicaManager,
    };
    node.manager = new ReplicaManager({
      nodeId: id, brokerEpoch: () => node.brokerEpoch,
      openLog: () => node.log,
      dropLog: () => Promise.resolve(),
      alterPartition: (request) => this.sendAlterPartition(node, request),
      fetchFrom: (leaderId, request, timeoutMs) => this.sendFetch(node, leaderId, request, timeoutMs),
      events: new KernelEventBus(quietLogger), clock: this.time, timer: this.time, settings: SETTINGS, logger: quietLogger,
    });
    return node;
  }

  /**
   * A process crash keeps the page cache (nothing is lost); a machine crash loses what was
   * not flushed, and the controller learns it at the restart (KIP-966's unclean shutdown).
   */
  private async crash(node: SimNode, machine: boolean): Promise<void> {
    this.crashes++;
    if (!machine) node.durable = node.log.logEndOffset;
    this.note(`${machine ? 'machine' : 'process'} crash ${node.id} (leo ${node.log.logEndOffset}, durable ${node.durable})`);
    node.alive = false;
    node.incarnation++;
    node.manager.close();
    // Closing flushes, which a crash would not do; the restart truncates to `durable` instead.
    await node.log.close();
    this.fence(node.id, machine);
    this.time.after(this.random.between(100, 3000), () => {
      void this.restart(node);
    });
  }

  private async restart(crashed: SimNode): Promise<void> {
    const node = this.nodes.get(crashed.id)!;
    if (node.alive) return;
    const restarted = this.startNode(node.id, node.incarnation + 1, node.durable);
    this.note(`restart ${node.id} with leo ${restarted.log.logEndOffset}`);
    this.nodes.set(node.id, restarted);
    this.unfence(node.id);
  }

  // --- transport -----------------------------------------------------------------

  /** Delivers `deliver` after a delay unless the link drops it; may deliver it twice. */
  private send(from: number, to: number, deliver: () => void): void {
    if (this.isolatedLink(from, to) || this.random.chance(this.params.dropProbability)) return;
    this.time.after(this.random.between(0, this.params.delayMsMax), deliver);
    if (this.random.chance(this.params.duplicateProbability)) this.time.after(this.random.between(0, this.params.delayMsMax * 3), deliver);
  }

  private isolatedLink(from: number, to: number): boolean {
    return (this.nodes.get(from)?.isolated ?? false) || (this.nodes.get(to)?.isolated ?? false);
  }

  private sendFetch(from: SimNode, leaderId: number, request: ReplicaFetchRequest, timeoutMs: number): Promise<ReplicaFetchResponse> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const incarnation = from.incarnation;
      this.time.after(timeoutMs, () => {
        if (settled) return;
        settled = true;
        reject(new Error('replica fetch timed out'));
      });
      this.send(from.id, leaderId, () => {
        const leader = this.nodes.get(leaderId)!;
        if (!leader.alive) return;
        const leaderIncarnation = leader.incarnation;
        leader.manager.handleReplicaFetch(request).then((response) => {
          if (leader.incarnation !== leaderIncarnation || !leader.alive) return;
          this.send(leaderId, from.id, () => {
            if (settled || from.incarnation !== incarnation || !from.alive) return;
            settled = true;
            resolve(response);
          });
        }, (err: Error) => this.fail(err));
      });
    });
  }

  private sendAlterPartition(from: SimNode, request: AlterPartitionRequest): Promise<AlterPartitionResponse> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const incarnation = from.incarnation;
      this.time.after(SETTINGS.requestTimeoutMs, () => {
        if (settled) return;
        settled = true;
        reject(new Error('AlterPartition timed out'));
      });
      this.send(from.id, 0, () => {
        const response = this.alterPartition(request);
        this.send(0, from.id, () => {
          if (settled || from.incarnation !== incarnation || !from.alive) return;
          settled = true;
          resolve(response);
        });
      });
    });
  }

  private fail(err: Error): void {
    this.failure ??= new ReplicationViolation(`SEED=${this.seed}: unexpected error: ${err.stack ?? err.message}\n` +
      `replay: SLUICE_SIM_SEED=${this.seed} npx vitest run kernel/src/cluster/replication-sim.test.ts`);
  }

  // --- the controller model ------------------------------------------------------

  private alterPartition(request: AlterPartitionRequest): AlterPartitionResponse {
    const p = request.topics[0]!.partitions[0]!;
    const c = this.controller;
    const answer = (errorCode: number): AlterPartitionResponse => ({
      errorCode: 0,
      topics: [{ topicId: TOPIC_ID, partitions: [{
        partitionIndex: 0, errorCode, leaderId: c.leader, leaderEpoch: c.leaderEpoch, isr: c.isr, partitionEpoch: c.partitionEpoch,
      }] }],
    });
    const sender = this.nodes.get(request.brokerId)!;
    if (this.fenced.has(request.brokerId) || request.brokerEpoch !== sender.brokerEpoch) return answer(ErrorCode.STALE_BROKER_EPOCH);
    if (request.brokerId !== c.leader || p.leaderEpoch !== c.leaderEpoch) return answer(ErrorCode.FENCED_LEADER_EPOCH);
    if (p.partitionEpoch !== c.partitionEpoch) return answer(INVALID_UPDATE_VERSION);
    if (p.newIsr.some((id) => this.fenced.has(id)) || !p.newIsr.includes(c.leader)) return answer(INELIGIBLE_REPLICA);
    // As the real controller (KIP-903): a new member's fetches must come from its current incarnation.
    const stale = p.newIsr.some((id, i) => {
      const seen = p.newIsrBrokerEpochs?.[i] ?? -1;
      return !c.isr.includes(id) && seen !== -1 && seen !== this.nodes.get(id)!.brokerEpoch;
    });
    if (stale) return answer(INELIGIBLE_REPLICA);
    c.isr = [...p.newIsr];
    c.partitionEpoch++;
    this.note(`AlterPartition from ${request.brokerId}: isr [${c.isr.join(',')}]`);
    this.publish();
    return answer(0);
  }

  /**
   * The broker is gone: out of the ISR and no longer leader. The last ISR member stays in the
   * ISR (it holds every acknowledged write; no unclean election), unless it lost unflushed
   * data (`unclean`): then the ISR empties and the partition waits for every replica to
   * come back and elects the most up-to-date one (KIP-966's unclean recovery).
   */
  private fence(id: number, uncleanShutdown = false): void {
    const unclean = uncleanShutdown && this.options.withoutUncleanRecovery !== true;
    const c = this.controller;
    if (this.fenced.has(id) && !(unclean && c.isr.includes(id))) return;
    this.fenced.add(id);
    if (c.isr.includes(id) && (c.isr.length > 1 || unclean)) c.isr = c.isr.filter((r) => r !== id);
    if (c.leader === id) {
      c.leader = c.isr.find((r) => !this.fenced.has(r)) ?? -1;
      c.leaderEpoch++;
    }
    c.partitionEpoch++;
    this.note(`fence ${id}: leader ${c.leader} epoch ${c.leaderEpoch} isr [${c.isr.join(',')}]`);
    this.publish();
  }

  private unfence(id: number): void {
    this.fenced.delete(id);
    const c = this.controller;
    const recovered = c.leader < 0 && c.isr.length === 0 ? this.mostUpToDate() : undefined;
    if (recovered !== undefined) c.isr = [recovered];
    if (c.leader < 0 && (c.isr.includes(id) || recovered !== undefined)) {
      c.leader = recovered ?? id;
      c.leaderEpoch++;
      c.partitionEpoch++;
      this.note(`unfence ${id}: leader ${c.leader} epoch ${c.leaderEpoch} isr [${c.isr.join(',')}]`);
      this.publish();
    } else {
      this.publishTo(id);
    }
  }

  /** With every replica back: the one whose log ends in the highest epoch, then the longest. */
  private mostUpToDate(): number | undefined {
    const nodes = NODE_IDS.map((id) => this.nodes.get(id)!);
    if (nodes.some((n) => !n.alive || this.fenced.has(n.id))) return undefined;
    const lastEpoch = (n: SimNode): number => {
      const entries = n.log.epochCache.all().filter((e) => e.startOffset < n.log.logEndOffset);
      return entries[entries.length - 1]?.epoch ?? -1;
    };
    let best = nodes[0]!;
    for (const n of nodes.slice(1)) {
      const [a, b] = [lastEpoch(n), lastEpoch(best)];
      if (a > b || (a === b && n.log.logEndOffset > best.log.logEndOffset)) best = n;
    }
    return best.id;
  }

  private publish(): void {
    for (const id of NODE_IDS) this.publishTo(id);
  }

  private publishTo(id: number): void {
    const c = this.controller;
    const state: ReplicaPartitionState = {
      topic: TOPIC, topicId: TOPIC_ID, partition: 0, replicas: [...c.replicas], isr: [...c.isr], leader: c.leader,
      leaderEpoch: c.leaderEpoch, partitionEpoch: c.partitionEpoch,
    };
    const node = this.nodes.get(id);
    if (node === undefined) return;
    const incarnation = node.incarnation;
    this.send(0, id, () => {
      const current = this.nodes.get(id)!;
      if (!current.alive || current.incarnation !== incarnation) return;
      current.manager.applyPartition(state).catch((err: Error) => this.fail(err));
    });
    // Metadata is fetched, so a dropped publication is fetched again later.
    this.time.after(SESSION_TIMEOUT_MS, () => {
      const current = this.nodes.get(id)!;
      if (!current.alive || current.isolated || current.incarnation !== incarnation) return;
      current.manager.applyPartition(state).catch((err: Error) => this.fail(err));
    });
  }

  // --- chaos and clients ---------------------------------------------------------

  private scheduleAction(): void {
    if (!this.chaos) return;
    this.time.after(this.random.between(1, this.params.actionGapMsMax), () => {
      if (!this.chaos) return;
      this.track(this.act());
      this.scheduleAction();
    });
  }

  private async act(): Promise<void> {
    const r = this.random.nextFloat();
    const live = [...this.nodes.values()].filter((n) => n.alive);
    const p = this.params;
    if (r < p.crashProbability && live.length > 0) {
      await this.crash(live[this.random.nextInt(live.length)]!, this.random.chance(0.5));
    } else if (r < p.crashProbability + p.isolateProbability && live.length > 0) {
      this.isolate(live[this.random.nextInt(live.length)]!);
    } else if (r < p.crashProbability + p.isolateProbability + p.followerFlushProbability && live.length > 0) {
      const node = live[this.random.nextInt(live.length)]!;
      const end = node.log.logEndOffset;
      await node.log.waitFlushed(end);
      node.durable = Math.max(node.durable, Math.min(end, node.log.logEndOffset));
      this.note(`flush ${node.id} to ${node.durable}`);
    } else {
      this.produce(live);
    }
  }

  private isolate(node: SimNode): void {
    if (node.isolated) return;
    this.isolations++;
    node.isolated = true;
    this.note(`isolate ${node.id}`);
    const incarnation = node.incarnation;
    const durationMs = this.random.between(100, 6000);
    this.time.after(SESSION_TIMEOUT_MS, () => {
      if (node.isolated && node.incarnation === incarnation) this.fence(node.id);
    });
    this.time.after(durationMs, () => this.reconnect(node));
  }

  private reconnect(node: SimNode): void {
    if (!node.isolated) return;
    node.isolated = false;
    this.note(`reconnect ${node.id}`);
    if (node.alive) this.unfence(node.id);
  }

  private produce(live: readonly SimNode[]): void {
    if (live.length === 0) return;
    const leader = this.nodes.get(this.controller.leader);
    // Mostly the leader the metadata names; sometimes a stale client picks another node.
    const target = leader !== undefined && leader.alive && this.random.chance(0.9) ? leader : live[this.random.nextInt(live.length)]!;
    const id = this.nextPayloadId++;
    const batch = buildBatch([{ key: null, value: Buffer.from(`payload-${id}`), timestampMs: id }], { baseTimestampMs: id });
    this.produced++;
    const durable = this.random.chance(0.8);
    target.log.append(batch, durable ? 'durable' : 'leader', { timeoutMs: this.params.produceTimeoutMs }).then(
      (result) => {
        if (durable) this.acked.push({ offset: result.baseOffset, id });
        this.note(`${durable ? 'acked' : 'appended'} ${id} at ${result.baseOffset} by ${target.id} (epoch ${target.log.leaderEpoch}, hw ${target.log.highWatermark})`);
      },
      () => {},
    );
  }

  // --- healing and the final checks ----------------------------------------------

  private async heal(): Promise<void> {
    for (const node of this.nodes.values()) {
      if (node.isolated) this.reconnect(node);
    }
    for (const node of [...this.nodes.values()]) {
      if (!node.alive) await this.restart(node);
    }
  }

  private converged(): boolean {
    const c = this.controller;
    if (c.leader < 0 || c.isr.length !== NODE_IDS.length) return false;
    const leader = this.nodes.get(c.leader)!;
    if (!leader.alive || !leader.manager.isLeader(TOPIC, 0) || leader.log.leaderEpoch !== c.leaderEpoch) return false;
    const end = leader.log.logEndOffset;
    if (leader.log.highWatermark !== end) return false;
    for (const node of this.nodes.values()) {
      if (!node.alive || node.log.logEndOffset !== end || node.log.highWatermark !== end) return false;
    }
    return true;
  }

  private checkFinal(): void {
    const leader = this.nodes.get(this.controller.leader)!;
    const hw = leader.log.highWatermark;
    const reference = readAll(leader.log, hw);
    for (const node of this.nodes.values()) {
      if (node === leader) continue;
      const copy = readAll(node.log, hw);
      if (!copy.equals(reference)) {
        this.violation(`node ${node.id} differs from leader ${leader.id} below the high watermark ${hw}: ` +
          `first difference ${firstDifference(reference, copy)}`);
      }
    }
    const idAt = new Map<number, number>();
    for (let pos = 0; pos < reference.length; pos += rb.batchSize(reference, pos)) {
      idAt.set(rb.batchBaseOffset(reference, pos), rb.batchBaseTimestamp(reference, pos));
    }
    for (const a of this.acked) {
      const found = idAt.get(a.offset);
      if (found !== a.id) {
        this.violation(`acknowledged write ${a.id} at offset ${a.offset} lost: the final leader ${leader.id} has ${found ?? 'nothing'} there`);
      }
    }
  }

  private describe(): string {
    const c = this.controller;
    const nodes = [...this.nodes.values()].map((n) => `${n.id}${n.alive ? '' : '(down)'}: leo=${n.log.logEndOffset} hw=${n.log.highWatermark} epoch=${n.log.leaderEpoch}${n.manager.isLeader(TOPIC, 0) ? ' leading' : ''}`);
    return `controller leader=${c.leader} epoch=${c.leaderEpoch} isr=[${c.isr.join(',')}]; ${nodes.join('; ')}`;
  }
}

function readAll(log: PartitionLog, endOffset: number): Buffer {
  const parts: Buffer[] = [];
  let offset: number = log.logStartOffset;
  while (offset < endOffset) {
    const chunk = log.readForReplica(offset, 1 << 20);
    if (chunk.length === 0) break;
    let pos = 0;
    for (; pos < chunk.length; pos += rb.batchSize(chunk, pos)) {
      if (rb.batchBaseOffset(chunk, pos) >= endOffset) break;
      offset = rb.batchLastOffset(chunk, pos) + 1;
    }
    parts.push(chunk.subarray(0, pos));
  }
  return Buffer.concat(parts);
}

/** Where two logs' batches first differ: offset, leader epoch and payload id on each side. */
function firstDifference(a: Buffer, b: Buffer): string {
  const describe = (buf: Buffer, pos: number): string => (pos >= buf.length ? 'end'
    : `offset ${rb.batchBaseOffset(buf, pos)} epoch ${rb.batchLeaderEpoch(buf, pos)} id ${rb.batchBaseTimestamp(buf, pos)}`);
  let pa = 0;
  let pb = 0;
  while (pa < a.length && pb < b.length) {
    const sa = rb.batchSize(a, pa);
    const sb = rb.batchSize(b, pb);
    if (sa !== sb || !a.subarray(pa, pa + sa).equals(b.subarray(pb, pb + sb))) break;
    pa += sa;
    pb += sb;
  }
  return `leader: ${describe(a, pa)}, replica: ${describe(b, pb)}`;
}

/** tmpfs when there is one: the simulator syncs after every event. */
function defaultSimRoot(): string {
  return process.platform === 'linux' ? '/dev/shm/sluice-sim' : join(tmpdir(), 'sluice-sim');
}
