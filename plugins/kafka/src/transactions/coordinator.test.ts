/**
 * The transaction coordinator following the leadership of `__transaction_state` partitions:
 * ids of a partition are served only while this node leads it, loaded from the log when
 * leadership arrives and dropped when it goes. Leadership is driven by hand; the state log
 * is kept in memory as Kafka's encoded records.
 */
import { KafkaError, type Kernel } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import type { TransactionLogValue } from '../protocol/index.js';
import type { LeadershipChange, PartitionLeadership } from '../groups/partition-leadership.js';
import type { Timer } from '../groups/timer.js';
import { DEFAULT_TRANSACTION_CONFIG } from './config.js';
import { TransactionCoordinator, TxnError as E, TxnState } from './coordinator.js';
import { encodeKey, encodeValue, partitionForTransactionalId, type TransactionLog } from './state-log.js';

class HandLeadership implements PartitionLeadership {
  private readonly listeners = new Set<(change: LeadershipChange) => void>();
  trailing: Promise<void> | undefined;

  led(): readonly LeadershipChange[] {
    return [];
  }

  subscribe(listener: (change: LeadershipChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  caughtUp(): Promise<void> | undefined {
    return this.trailing;
  }

  emit(partition: number, leader: boolean, leaderEpoch = 1): void {
    for (const l of this.listeners) l({ partition, leader, leaderEpoch });
  }
}

class MemoryTxnLog implements TransactionLog {
  readonly partitions = 2;
  readonly leadership = new HandLeadership();
  readonly records: Array<Array<{ key: Uint8Array; value: Uint8Array | null }>> = [[], []];
  /** The next write is refused with this error. */
  refuse: KafkaError | undefined;
  /** Runs before a write resolves (leadership moving while it is in flight). */
  beforeWriteResolves: (() => void) | undefined;

  partitionFor(transactionalId: string): number {
    return partitionForTransactionalId(transactionalId, this.partitions);
  }

  coordinatorEpoch(): number {
    return 0;
  }

  write(transactionalId: string, value: TransactionLogValue | null): Promise<void> {
    const refused = this.refuse;
    this.refuse = undefined;
    if (refused !== undefined) return Promise.reject(refused);
    this.records[this.partitionFor(transactionalId)]!.push({ key: encodeKey(transactionalId), value: value === null ? null : encodeValue(value) });
    const hook = this.beforeWriteResolves;
    this.beforeWriteResolves = undefined;
    hook?.();
    return Promise.resolve();
  }

  replay(partition: number): Iterable<{ key: Uint8Array; value: Uint8Array | null }> {
    return this.records[partition]!;
  }
}

const timer: Timer = { now: () => 1_700_000_000_000, schedule: () => () => {} };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const flush = (): Promise<void> => new Promise((ok) => setImmediate(ok));
const ID = 'txn-a';

function setup(log = new MemoryTxnLog()) {
  let nextProducerId = 1000;
  const kernel = { allocateProducerId: () => Promise.resolve(nextProducerId++), partition: () => undefined, topicPartitions: () => [] } as unknown as Kernel;
  const coordinator = new TransactionCoordinator(kernel, log, DEFAULT_TRANSACTION_CONFIG, timer, quiet, () => {});
  coordinator.load();
  return { coordinator, log, partition: log.partitionFor(ID) };
}

const init = (c: TransactionCoordinator, producerId = -1, producerEpoch = -1) => c.initProducerId(ID, 60_000, producerId, producerEpoch, 4);

describe('transaction coordinator and partition leadership', () => {
  it('answers NOT_COORDINATOR for ids of partitions it does not lead, and serves them once it leads', async () => {
    const { coordinator, log, partition } = setup();
    expect((await init(coordinator)).errorCode).toBe(E.NOT_COORDINATOR);
    expect(coordinator.status(ID)).toBe(E.NOT_COORDINATOR);
    log.leadership.emit(partition, true);
    expect(coordinator.status(ID)).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);
    await flush();
    expect(await init(coordinator)).toEqual({ errorCode: E.NONE, producerId: 1000, producerEpoch: 0 });
  });

  it('loads the ids of a partition written by the previous leader when leadership arrives', async () => {
    const first = setup();
    first.log.leadership.emit(first.partition, true);
    await flush();
    await init(first.coordinator);
    expect(await first.coordinator.addPartitions(ID, 1000, 0, [], 4).then((errorOf) => errorOf('t', 0))).toBe(E.NONE);
    // The same log, another node: it leads the partition now.
    const second = setup(first.log);
    expect(second.coordinator.get(ID)).toBeUndefined();
    first.log.leadership.emit(first.partition, false, 2);
    first.log.leadership.emit(first.partition, true, 2);
    await flush();
    expect(second.coordinator.get(ID)).toMatchObject({ producerId: 1000, producerEpoch: 0, state: TxnState.Ongoing });
    expect(first.coordinator.get(ID)).toMatchObject({ producerId: 1000 });
  });

  it('drops the ids when leadership is lost: NOT_COORDINATOR afterwards', async () => {
    const { coordinator, log, partition } = setup();
    log.leadership.emit(partition, true);
    await flush();
    await init(coordinator);
    log.leadership.emit(partition, false, 2);
    expect(coordinator.get(ID)).toBeUndefined();
    expect(await coordinator.endTxn(ID, 1000, 0, true, 4)).toBe(E.NOT_COORDINATOR);
    expect((await init(coordinator, 1000, 0)).errorCode).toBe(E.NOT_COORDINATOR);
    // Produce is checked by the id's coordinator (AddPartitionsToTxn) when it is another node.
    expect(coordinator.checkProduce(ID, 1000, 0, 't', 0)).toBe(E.NONE);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS until the high watermark has caught up', async () => {
    const { coordinator, log, partition } = setup();
    let caughtUp!: () => void;
    log.leadership.trailing = new Promise((ok) => (caughtUp = ok));
    log.leadership.emit(partition, true);
    await flush();
    expect((await init(coordinator)).errorCode).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.listingStatus()).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);
    caughtUp();
    await Promise.resolve();
    await flush();
    expect((await init(coordinator)).errorCode).toBe(E.NONE);
    expect(coordinator.listingStatus()).toBe(E.NONE);
  });

  it.each([
    ['NOT_LEADER_OR_FOLLOWER', 6, E.NOT_COORDINATOR],
    ['NOT_ENOUGH_REPLICAS', 19, E.COORDINATOR_NOT_AVAILABLE],
    ['REQUEST_TIMED_OUT', 7, E.COORDINATOR_NOT_AVAILABLE],
  ])('maps a refused state write (%s) as Kafka does', async (name, code, expected) => {
    const { coordinator, log, partition } = setup();
    log.leadership.emit(partition, true);
    await flush();
    log.refuse = new KafkaError(code, name, 'refused');
    expect((await init(coordinator)).errorCode).toBe(expected);
  });

  it('answers NOT_COORDINATOR when leadership moves while the state write is in flight', async () => {
    const { coordinator, log, partition } = setup();
    log.leadership.emit(partition, true);
    await flush();
    log.beforeWriteResolves = () => log.leadership.emit(partition, false, 2);
    expect((await init(coordinator)).errorCode).toBe(E.NOT_COORDINATOR);
    expect(coordinator.get(ID)).toBeUndefined();
  });
});
