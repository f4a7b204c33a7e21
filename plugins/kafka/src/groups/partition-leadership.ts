/**
 * Which partitions of a coordinator's internal topic (`__consumer_offsets`,
 * `__transaction_state`) this node leads. As in Kafka, the leader of such a partition is
 * the coordinator of the groups / transactional ids hashed to it: it loads their state
 * when it becomes leader and drops it when it stops leading.
 *
 * The source of truth is the kernel's `partition.leadership` event. Partitions this node
 * already leads when a coordinator subscribes are read from `Kernel.topicPartitions`
 * (`led()`), since their events may have been emitted before the plugin started;
 * coordinators treat a repeated `leader: true` as a no-op, so both may report a partition.
 */
import { asOffset, type Kernel, type Logger } from '@sluice/sdk';

export interface LeadershipChange {
  readonly partition: number;
  readonly leader: boolean;
  readonly leaderEpoch: number;
}

/** What a coordinator needs to follow the leadership of its topic's partitions; tests drive one by hand. */
export interface PartitionLeadership {
  /** The partitions this node leads now, with their leader epochs. */
  led(): readonly LeadershipChange[];
  /** Calls `listener` (synchronously, from the kernel's event) on every change; returns the unsubscribe. */
  subscribe(listener: (change: LeadershipChange) => void): () => void;
  /**
   * Undefined when the partition's high watermark is at its log end already; otherwise
   * resolves once it reaches the log end as it is now (a new leader's high watermark can
   * trail records that were acknowledged under the previous leader), or when `signal` aborts.
   */
  caughtUp(partition: number, signal: AbortSignal): Promise<void> | undefined;
}

export class KernelLeadership implements PartitionLeadership {
  constructor(
    private readonly kernel: Kernel,
    private readonly topic: string,
  ) {}

  led(): readonly LeadershipChange[] {
    return this.kernel.topicPartitions(this.topic)
      .filter((p) => p.leader === this.kernel.nodeId && this.kernel.partition(this.topic, p.partition) !== undefined)
      .map((p) => ({ partition: p.partition, leader: true, leaderEpoch: p.leaderEpoch }));
  }

  subscribe(listener: (change: LeadershipChange) => void): () => void {
    return this.kernel.on('partition.leadership', (e) => {
      if (e.topic === this.topic) listener({ partition: e.partition, leader: e.leader, leaderEpoch: e.leaderEpoch });
    });
  }

  caughtUp(partition: number, signal: AbortSignal): Promise<void> | undefined {
    const handle = this.kernel.partition(this.topic, partition);
    if (handle === undefined) return undefined;
    const end = handle.logEndOffset as number;
    if ((handle.highWatermark as number) >= end) return undefined;
    return handle.waitForData(asOffset(end - 1), signal);
  }
}

/** What a coordinator does when it gains or loses a partition. */
export interface PartitionLoader {
  /** Rebuilds the partition's state from its log; throwing leaves the partition unserved. */
  load(partition: number): void;
  /** Drops the partition's state, answering what waits on it with NOT_COORDINATOR. */
  unload(partition: number): void;
}

/** A partition this node leads: waiting to be replayed, or loaded and served. */
export interface Leadership {
  state: 'loading' | 'loaded';
  leaderEpoch: number;
  /** Aborted when leadership is lost while the partition waits to be loaded. */
  readonly abort: AbortController;
}

/**
 * The partitions a coordinator leads, following a `PartitionLeadership`: a gained partition
 * is loading until its high watermark has caught up and it has been replayed, then loaded;
 * a lost one is unloaded. Repeated gains are no-ops, so the kernel's events and the scan at
 * start may both report a partition.
 */
export class LedPartitions {
  private readonly led = new Map<number, Leadership>();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly source: PartitionLeadership,
    private readonly loader: PartitionLoader,
    private readonly log: Logger,
    private readonly topic: string,
  ) {}

  /**
   * Follows the leadership from now on and loads the partitions led now: at once when
   * nothing has to be waited for (a single node at start, so no client sees them loading).
   */
  start(): void {
    // Subscribed before reading who leads what, so no change falls in between.
    this.unsubscribe = this.source.subscribe((change) => this.apply(change, false));
    for (const change of this.source.led()) this.apply(change, true);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const entry of this.led.values()) entry.abort.abort();
  }

  /** The partition's current leadership; a different object after any change, so writes in flight can tell. */
  get(partition: number): Leadership | undefined {
    return this.led.get(partition);
  }

  anyLoading(): boolean {
    for (const entry of this.led.values()) if (entry.state === 'loading') return true;
    return false;
  }

  /** `now`: load synchronously when nothing has to be waited for; a kernel event handler must not block, so events load later. */
  private apply(change: LeadershipChange, now: boolean): void {
    if (this.stopped) return;
    if (change.leader) this.gain(change.partition, change.leaderEpoch, now);
    else this.lose(change.partition, change.leaderEpoch);
  }

  private gain(partition: number, leaderEpoch: number, now: boolean): void {
    const current = this.led.get(partition);
    if (current !== undefined) {
      current.leaderEpoch = Math.max(current.leaderEpoch, leaderEpoch);
      return;
    }
    const entry: Leadership = { state: 'loading', leaderEpoch, abort: new AbortController() };
    this.led.set(partition, entry);
    const waiting = this.source.caughtUp(partition, entry.abort.signal);
    if (waiting === undefined && now) {
      this.load(partition, entry);
      return;
    }
    const later = (): void => {
      setImmediate(() => {
        if (this.led.get(partition) === entry && !this.stopped) this.load(partition, entry);
      });
    };
    if (waiting === undefined) later();
    else void waiting.then(later);
  }

  /** A resignation from an epoch older than the leadership's is stale (Kafka ignores it too); -1 is "any". */
  private lose(partition: number, leaderEpoch: number): void {
    const entry = this.led.get(partition);
    if (entry === undefined || (leaderEpoch >= 0 && leaderEpoch < entry.leaderEpoch)) return;
    entry.abort.abort();
    this.led.delete(partition);
    this.loader.unload(partition);
    this.log.info('coordinator partition unloaded: no longer its leader', { topic: this.topic, partition, leaderEpoch });
  }

  private load(partition: number, entry: Leadership): void {
    try {
      this.loader.load(partition);
      entry.state = 'loaded';
    } catch (err) {
      // Left unserved (NOT_COORDINATOR) rather than served from a partial state.
      this.led.delete(partition);
      this.loader.unload(partition);
      this.log.error('loading a coordinator partition failed', { topic: this.topic, partition, error: String(err) });
    }
  }
}
