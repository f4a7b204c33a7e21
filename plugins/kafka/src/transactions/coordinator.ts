/**
 * The transaction coordinator: for each transactional id, its producer id and epoch, the
 * state of its transaction and the partitions in it, kept in `__transaction_state`
 * (state-log.ts). As in Kafka, this node coordinates the ids of the state partitions it
 * leads: it replays a partition when it becomes its leader (requests for its ids get
 * COORDINATOR_LOAD_IN_PROGRESS meanwhile) and drops its ids when it stops leading; ids of
 * partitions it does not lead get NOT_COORDINATOR.
 *
 * States and moves (Kafka's):
 *   Empty / CompleteCommit / CompleteAbort --AddPartitionsToTxn--> Ongoing
 *   Ongoing --EndTxn(commit)--> PrepareCommit --markers written--> CompleteCommit
 *   Ongoing --EndTxn(abort), timeout, or InitProducerId--> PrepareAbort --markers--> CompleteAbort
 * Each move is written (durably) before it is acted on, so a coordinator that restarts in a
 * Prepare state finishes writing the markers, and one that restarts in Ongoing aborts the
 * transaction when it times out or when its producer calls InitProducerId again.
 *
 * Operations on one transactional id run one at a time (a promise chain per id); EndTxn
 * answers once every marker is durable, so a client that sees a commit succeed can read it.
 * Markers go to each partition's leader (marker-writer.ts): in-process, or WriteTxnMarkers.
 * Fencing: InitProducerId bumps the epoch (a new producer id when the epoch is exhausted),
 * and a request with an older epoch is PRODUCER_FENCED (INVALID_PRODUCER_EPOCH for request
 * versions that predate KIP-588). A transaction aborted for its timeout also bumps the
 * epoch, so the timed-out producer cannot add to it afterwards.
 */
import { KafkaError, type Kernel, type Logger } from '@sluice/sdk';
import type { TransactionLogValue } from '../protocol/index.js';
import type { Timer } from '../groups/timer.js';
import type { TransactionConfig } from './config.js';
import { LedPartitions } from '../groups/partition-leadership.js';
import { ClusterMarkerWriter, type MarkerWriter } from './marker-writer.js';
import { decodeEntry, TRANSACTION_STATE_TOPIC, type TransactionLog } from './state-log.js';

export const TxnError = {
  NONE: 0,
  UNKNOWN_SERVER_ERROR: -1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  OPERATION_NOT_ATTEMPTED: 55,
  PRODUCER_FENCED: 90,
  TRANSACTIONAL_ID_NOT_FOUND: 105,
} as const;

/** TransactionLogValue.TransactionStatus values. */
export const TxnState = {
  Empty: 0, Ongoing: 1, PrepareCommit: 2, PrepareAbort: 3, CompleteCommit: 4, CompleteAbort: 5, Dead: 6, PrepareEpochFence: 7,
} as const;
export type TxnStateId = (typeof TxnState)[keyof typeof TxnState];
export const TXN_STATE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(TxnState).map(([k, v]) => [v, k]));

/** Kafka keeps the last epoch below Short.MAX_VALUE free for the epoch bump of an abort. */
const EPOCH_MAX = 32766;
/** Backoff between attempts to write a marker that failed (a partition being recovered, a full disk). */
const MARKER_RETRY_MS = 500;

export interface TxnMetadata {
  readonly transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** The epoch before the last bump, so a retried InitProducerId gets the same answer. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnStateId;
  /** `topic` -> partitions. */
  partitions: Map<string, Set<number>>;
  startMs: number;
  lastUpdateMs: number;
}

/**
 * Told of every durable marker; the group coordinator applies or drops transactional offsets
 * with it (of the offsets partitions it has loaded: a marker written on another node is
 * applied there, by its WriteTxnMarkers handler).
 */
export type MarkerListener = (topic: string, partition: number, producerId: number, commit: boolean) => void;

export interface InitResult {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

/**
 * Kafka's mapping of a failed state write (TransactionStateManager.appendTransactionToLog)
 * onto what the client is told; anything else is reported as COORDINATOR_NOT_AVAILABLE,
 * which clients retry.
 */
export function stateWriteError(err: unknown): number {
  if (!KafkaError.is(err)) return TxnError.COORDINATOR_NOT_AVAILABLE;
  switch (err.codeName) {
    case 'NOT_COORDINATOR':
    case 'NOT_LEADER_OR_FOLLOWER':
    case 'KAFKA_STORAGE_ERROR':
      return TxnError.NOT_COORDINATOR;
    case 'MESSAGE_TOO_LARGE':
    case 'RECORD_LIST_TOO_LARGE':
      return TxnError.UNKNOWN_SERVER_ERROR;
    default:
      // UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT among them.
      return TxnError.COORDINATOR_NOT_AVAILABLE;
  }
}

function contains(partitions: Map<string, Set<number>>, topic: string, partition: number): boolean {
  return partitions.get(topic)?.has(partition) === true;
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnMetadata>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private cancelCheck: (() => void) | null = null;
  private readonly led: LedPartitions;
  private stopped = false;

  constructor(
    private readonly kernel: Kernel,
    private readonly stateLog: TransactionLog,
    readonly config: TransactionConfig,
    private readonly timer: Timer,
    private readonly log: Logger,
    private readonly onMarker: MarkerListener,
    private readonly markers: MarkerWriter = new ClusterMarkerWriter(kernel, log),
  ) {
    this.led = new LedPartitions(stateLog.leadership, {
      load: (partition) => this.loadPartition(partition),
      unload: (partition) => this.unloadPartition(partition),
    }, log, TRANSACTION_STATE_TOPIC);
  }

  /**
   * Starts coordinating: follows the leadership of the state partitions, loads those this
   * node leads now (at once when their high watermark is at their log end, as on a single
   * node at start), and starts the timeout checks.
   */
  load(): void {
    this.led.start();
    this.scheduleTimeoutCheck();
  }

  /** Rebuilds the partition's transactional ids, then finishes the transactions it finds in a Prepare state. */
  private loadPartition(partition: number): void {
    const loaded = new Map<string, TxnMetadata>();
    for (const r of this.stateLog.replay(partition)) {
      const e = decodeEntry(r.key, r.value);
      if (e === undefined) continue;
      if (e.value === null) {
        loaded.delete(e.transactionalId);
        continue;
      }
      const v = e.value;
      const partitions = new Map<string, Set<number>>();
      for (const t of v.transactionPartitions ?? []) partitions.set(t.topic, new Set(t.partitionIds));
      loaded.set(e.transactionalId, {
        transactionalId: e.transactionalId, producerId: v.producerId, producerEpoch: v.producerEpoch, lastProducerEpoch: -1,
        timeoutMs: v.transactionTimeoutMs, state: v.transactionStatus as TxnStateId, partitions,
        startMs: v.transactionStartTimestampMs, lastUpdateMs: v.transactionLastUpdateTimestampMs,
      });
    }
    for (const [id, txn] of loaded) this.txns.set(id, txn);
    if (loaded.size > 0) this.log.info('transactional ids loaded', { partition, transactionalIds: loaded.size });
    for (const txn of loaded.values()) {
      if (txn.state === TxnState.PrepareCommit || txn.state === TxnState.PrepareAbort) {
        void this.serial(txn.transactionalId, () => this.completeTransaction(txn))
          .catch((err: unknown) => this.log.warn('completing a transaction after loading failed', { transactionalId: txn.transactionalId, error: String(err) }));
      }
    }
  }

  /** Leadership lost: the partition's ids go; operations still running on them fail as their writes are refused. */
  private unloadPartition(partition: number): void {
    for (const id of [...this.txns.keys()]) if (this.stateLog.partitionFor(id) === partition) this.txns.delete(id);
  }

  stop(): void {
    this.stopped = true;
    this.led.stop();
    this.markers.close();
    this.cancelCheck?.();
    this.cancelCheck = null;
  }

  /** 0 when this node coordinates the id now, else what to answer: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ... */
  status(transactionalId: string): number {
    if (this.stopped) return TxnError.COORDINATOR_NOT_AVAILABLE;
    const entry = this.led.get(this.stateLog.partitionFor(transactionalId));
    if (entry === undefined) return TxnError.NOT_COORDINATOR;
    return entry.state === 'loading' ? TxnError.COORDINATOR_LOAD_IN_PROGRESS : TxnError.NONE;
  }

  /** ListTransactions: 0 when every id this node coordinates is loaded (COORDINATOR_LOAD_IN_PROGRESS otherwise, as Kafka). */
  listingStatus(): number {
    if (this.stopped) return TxnError.COORDINATOR_NOT_AVAILABLE;
    return this.led.anyLoading() ? TxnError.COORDINATOR_LOAD_IN_PROGRESS : TxnError.NONE;
  }

  /** FindCoordinator: the state partition the id lives in. */
  partitionFor(transactionalId: string): number {
    return this.stateLog.partitionFor(transactionalId);
  }

  get(transactionalId: string): TxnMetadata | undefined {
    return this.txns.get(transactionalId);
  }

  all(): IterableIterator<TxnMetadata> {
    return this.txns.values();
  }

  /** Runs `op` after every earlier operation on the same id. */
  private serial<T>(transactionalId: string, op: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(transactionalId) ?? Promise.resolve();
    const next = prev.then(op, op);
    const settled = next.catch(() => undefined);
    this.chains.set(transactionalId, settled);
    void settled.then(() => {
      if (this.chains.get(transactionalId) === settled) this.chains.delete(transactionalId);
    });
    return next;
  }

  private async persist(txn: TxnMetadata, next: Partial<TxnMetadata>): Promise<void> {
    const merged = { ...txn, ...next };
    const value: TransactionLogValue = {
      producerId: merged.producerId,
      producerEpoch: merged.producerEpoch,
      transactionTimeoutMs: merged.timeoutMs,
      transactionStatus: merged.state,
      transactionPartitions: merged.state === TxnState.Empty
        ? null
        : [...merged.partitions].map(([topic, ps]) => ({ topic, partitionIds: [...ps].sort((a, b) => a - b) })),
      transactionLastUpdateTimestampMs: merged.lastUpdateMs,
      transactionStartTimestampMs: merged.startMs,
    };
    const partition = this.stateLog.partitionFor(txn.transactionalId);
    const leadership = this.led.get(partition);
    await this.stateLog.write(txn.transactionalId, value);
    // Written, but the partition changed hands meanwhile: the id is the new leader's to answer for.
    if (this.led.get(partition) !== leadership) throw new KafkaError(TxnError.NOT_COORDINATOR, 'NOT_COORDINATOR', `${TRANSACTION_STATE_TOPIC}-${partition} changed leader`);
    Object.assign(txn, next);
  }

  private fencedCode(apiVersion: number, fencedVersion: number): number {
    return apiVersion >= fencedVersion ? TxnError.PRODUCER_FENCED : TxnError.INVALID_PRODUCER_EPOCH;
  }

  /** InitProducerId with a transactional id (v3+ may carry the producer's current id and epoch, KIP-360). */
  initProducerId(transactionalId: string, timeoutMs: number, producerId: number, producerEpoch: number, apiVersion: number): Promise<InitResult> {
    const fail = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    const status = this.status(transactionalId);
    if (status !== TxnError.NONE) return Promise.resolve(fail(status));
    if (timeoutMs <= 0 || timeoutMs > this.config.maxTimeoutMs) return Promise.resolve(fail(TxnError.INVALID_TRANSACTION_TIMEOUT));
    return this.serial(transactionalId, async () => {
      // Leadership may have moved while earlier operations on the id ran.
      const current = this.status(transactionalId);
      if (current !== TxnError.NONE) return fail(current);
      const now = this.timer.now();
      let txn = this.txns.get(transactionalId);
      if (txn === undefined) {
        const id = await this.kernel.allocateProducerId();
        txn = {
          transactionalId, producerId: id, producerEpoch: -1, lastProducerEpoch: -1, timeoutMs, state: TxnState.Empty,
          partitions: new Map(), startMs: -1, lastUpdateMs: now,
        };
        await this.persist(txn, { producerEpoch: 0 });
        this.txns.set(transactionalId, txn);
        return { errorCode: 0, producerId: txn.producerId, producerEpoch: txn.producerEpoch };
      }
      if (producerId >= 0) {
        // KIP-360: only the current producer may bump; a retry of the last bump gets the same answer.
        if (producerId === txn.producerId && producerEpoch === txn.lastProducerEpoch && txn.state !== TxnState.Ongoing) {
          return { errorCode: 0, producerId: txn.producerId, producerEpoch: txn.producerEpoch };
        }
        if (producerId !== txn.producerId || producerEpoch !== txn.producerEpoch) return fail(this.fencedCode(apiVersion, 4));
      }
      if (txn.state === TxnState.Ongoing) {
        // The previous producer left a transaction open: abort it under a bumped epoch, fencing it.
        await this.endTransaction(txn, false, true);
      } else if (txn.state === TxnState.PrepareCommit || txn.state === TxnState.PrepareAbort) {
        await this.completeTransaction(txn);
      }
      const previousEpoch = txn.producerEpoch;
      let nextId = txn.producerId;
      let nextEpoch = txn.producerEpoch + 1;
      if (nextEpoch > EPOCH_MAX) {
        nextId = await this.kernel.allocateProducerId();
        nextEpoch = 0;
      }
      await this.persist(txn, {
        producerId: nextId, producerEpoch: nextEpoch, timeoutMs, state: TxnState.Empty, partitions: new Map(), startMs: -1, lastUpdateMs: now,
      });
      txn.lastProducerEpoch = previousEpoch;
      return { errorCode: 0, producerId: txn.producerId, producerEpoch: txn.producerEpoch };
    }).catch((err: unknown) => {
      this.log.warn('InitProducerId failed', { transactionalId, error: String(err) });
      return fail(stateWriteError(err));
    });
  }

  /** Checks the id, producer and epoch of a request about an existing transaction. */
  private check(transactionalId: string, producerId: number, producerEpoch: number, apiVersion: number, fencedVersion: number):
    { txn: TxnMetadata } | { errorCode: number } {
    const status = this.status(transactionalId);
    if (status !== TxnError.NONE) return { errorCode: status };
    const txn = this.txns.get(transactionalId);
    if (txn === undefined || txn.producerId !== producerId) return { errorCode: TxnError.INVALID_PRODUCER_ID_MAPPING };
    if (producerEpoch !== txn.producerEpoch) return { errorCode: this.fencedCode(apiVersion, fencedVersion) };
    if (txn.state === TxnState.PrepareCommit || txn.state === TxnState.PrepareAbort) return { errorCode: TxnError.CONCURRENT_TRANSACTIONS };
    return { txn };
  }

  /**
   * AddPartitionsToTxn v0-3. Returns the error per partition: all the same when the request
   * as a whole fails; UNKNOWN_TOPIC_OR_PARTITION for missing ones and OPERATION_NOT_ATTEMPTED
   * for the others when some partitions do not exist.
   */
  addPartitions(transactionalId: string, producerId: number, producerEpoch: number, topics: ReadonlyArray<{ name: string; partitions: readonly number[] }>,
    apiVersion: number): Promise<(topic: string, partition: number) => number> {
    return this.serial(transactionalId, async () => {
      const checked = this.check(transactionalId, producerId, producerEpoch, apiVersion, 2);
      if ('errorCode' in checked) return () => checked.errorCode;
      const txn = checked.txn;
      const missing = new Set<string>();
      // From the metadata: in a cluster the partitions may all live on other nodes.
      const exists = (topic: string, p: number): boolean => this.kernel.topicPartitions(topic).some((d) => d.partition === p);
      for (const t of topics) for (const p of t.partitions) if (!exists(t.name, p)) missing.add(`${t.name}\0${p}`);
      if (missing.size > 0) {
        return (topic: string, partition: number) => missing.has(`${topic}\0${partition}`) ? TxnError.UNKNOWN_TOPIC_OR_PARTITION : TxnError.OPERATION_NOT_ATTEMPTED;
      }
      const now = this.timer.now();
      const partitions = txn.state === TxnState.Ongoing ? new Map([...txn.partitions].map(([t, ps]) => [t, new Set(ps)])) : new Map<string, Set<number>>();
      let added = txn.state !== TxnState.Ongoing;
      for (const t of topics) {
        const set = partitions.get(t.name) ?? new Set<number>();
        for (const p of t.partitions) {
          if (!set.has(p)) added = true;
          set.add(p);
        }
        partitions.set(t.name, set);
      }
      if (added) {
        await this.persist(txn, {
          state: TxnState.Ongoing, partitions, lastUpdateMs: now, startMs: txn.state === TxnState.Ongoing ? txn.startMs : now,
        });
      }
      return () => TxnError.NONE;
    }).catch((err: unknown) => {
      this.log.warn('AddPartitionsToTxn failed', { transactionalId, error: String(err) });
      const code = stateWriteError(err);
      return () => code;
    });
  }

  /** EndTxn: answers once every marker is durable and the completion is recorded. */
  endTxn(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean, apiVersion: number): Promise<number> {
    return this.serial(transactionalId, async () => {
      const checked = this.check(transactionalId, producerId, producerEpoch, apiVersion, 2);
      if ('errorCode' in checked) return checked.errorCode;
      const txn = checked.txn;
      switch (txn.state) {
        case TxnState.Ongoing:
          await this.endTransaction(txn, commit, false);
          return TxnError.NONE;
        case TxnState.CompleteCommit:
          return commit ? TxnError.NONE : TxnError.INVALID_TXN_STATE;
        case TxnState.CompleteAbort:
          return commit ? TxnError.INVALID_TXN_STATE : TxnError.NONE;
        default:
          return TxnError.INVALID_TXN_STATE;
      }
    }).catch((err: unknown) => {
      this.log.warn('EndTxn failed', { transactionalId, error: String(err) });
      return stateWriteError(err);
    });
  }

  /**
   * Whether a transactional batch may be appended: its producer is the id's current one and
   * the partition was added to the open transaction. 0, or the error code to answer.
   */
  checkProduce(transactionalId: string, producerId: number, producerEpoch: number, topic: string, partition: number): number {
    // Only the id's coordinator knows its transaction. Where another node coordinates it, the
    // check was the coordinator's AddPartitionsToTxn, as in Kafka before KIP-890.
    if (this.status(transactionalId) !== TxnError.NONE) return TxnError.NONE;
    const txn = this.txns.get(transactionalId);
    if (txn === undefined || txn.producerId !== producerId) return TxnError.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < txn.producerEpoch) return TxnError.INVALID_PRODUCER_EPOCH;
    if (producerEpoch !== txn.producerEpoch || txn.state !== TxnState.Ongoing || !contains(txn.partitions, topic, partition)) {
      return TxnError.INVALID_TXN_STATE;
    }
    return TxnError.NONE;
  }

  /** Writes Prepare, the markers, then Complete. `fence` bumps the epoch first (timeouts, a new producer). */
  private async endTransaction(txn: TxnMetadata, commit: boolean, fence: boolean): Promise<void> {
    const now = this.timer.now();
    const epoch = fence ? txn.producerEpoch + 1 : txn.producerEpoch;
    await this.persist(txn, { state: commit ? TxnState.PrepareCommit : TxnState.PrepareAbort, producerEpoch: epoch, lastUpdateMs: now });
    await this.completeTransaction(txn);
  }

  /** From a Prepare state: markers to every partition of the transaction, then Complete. */
  private async completeTransaction(txn: TxnMetadata): Promise<void> {
    const commit = txn.state === TxnState.PrepareCommit;
    const coordinatorEpoch = this.stateLog.coordinatorEpoch(txn.transactionalId);
    const writes: Array<Promise<void>> = [];
    for (const [topic, partitions] of txn.partitions) {
      for (const p of partitions) writes.push(this.writeMarker(txn.transactionalId, topic, p, txn.producerId, txn.producerEpoch, coordinatorEpoch, commit));
    }
    await Promise.all(writes);
    await this.persist(txn, { state: commit ? TxnState.CompleteCommit : TxnState.CompleteAbort, lastUpdateMs: this.timer.now() });
  }

  /** Retries until the marker is written or cannot matter any more (the partition is gone, the producer moved on). */
  private async writeMarker(transactionalId: string, topic: string, partition: number, producerId: number, producerEpoch: number,
    coordinatorEpoch: number, commit: boolean): Promise<void> {
    for (;;) {
      try {
        if (await this.markers.write(topic, partition, producerId, producerEpoch, coordinatorEpoch, commit) === 'partition-gone') return;
        this.onMarker(topic, partition, producerId, commit);
        return;
      } catch (err) {
        if (KafkaError.is(err) && (err.codeName === 'INVALID_PRODUCER_EPOCH' || err.codeName === 'TRANSACTION_COORDINATOR_FENCED')) {
          this.log.warn('transaction marker refused', { topic, partition, producerId, producerEpoch, error: err.message });
          return;
        }
        // A coordinator that lost the id leaves its markers to the new one, which finishes the Prepare state it loads.
        if (this.stopped || this.status(transactionalId) !== TxnError.NONE) throw err;
        this.log.warn('writing a transaction marker failed; retrying', { topic, partition, producerId, error: String(err) });
        await new Promise((resolve) => setTimeout(resolve, MARKER_RETRY_MS));
      }
    }
  }

  private scheduleTimeoutCheck(): void {
    if (this.stopped) return;
    this.cancelCheck = this.timer.schedule(this.config.abortCheckIntervalMs, () => {
      this.abortTimedOut();
      this.scheduleTimeoutCheck();
    });
  }

  /** Proactively aborts every transaction open longer than its timeout, fencing its producer. */
  abortTimedOut(): void {
    const now = this.timer.now();
    for (const txn of this.txns.values()) {
      if (txn.state !== TxnState.Ongoing || now - txn.startMs <= txn.timeoutMs) continue;
      this.log.info('aborting a transaction past its timeout', { transactionalId: txn.transactionalId, timeoutMs: txn.timeoutMs });
      void this.serial(txn.transactionalId, async () => {
        if (txn.state === TxnState.Ongoing && this.timer.now() - txn.startMs > txn.timeoutMs) await this.endTransaction(txn, false, true);
      }).catch((err: unknown) => this.log.warn('aborting a timed-out transaction failed', { transactionalId: txn.transactionalId, error: String(err) }));
    }
  }
}
