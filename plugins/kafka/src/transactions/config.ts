/** The broker properties the transaction coordinator reads (Kafka's names and defaults). */
import type { BrokerInfo } from '@sluice/sdk';

export interface TransactionConfig {
  readonly stateLogPartitions: number;
  readonly stateLogSegmentBytes: number;
  /** Largest transaction.timeout.ms a producer may ask for (INVALID_TRANSACTION_TIMEOUT above). */
  readonly maxTimeoutMs: number;
  /** How often transactions past their timeout are looked for and aborted. */
  readonly abortCheckIntervalMs: number;
}

export const DEFAULT_TRANSACTION_CONFIG: TransactionConfig = {
  stateLogPartitions: 50,
  stateLogSegmentBytes: 104_857_600,
  maxTimeoutMs: 900_000,
  abortCheckIntervalMs: 10_000,
};

export function transactionConfig(broker: BrokerInfo): TransactionConfig {
  const num = (key: string, fallback: number): number => {
    const raw = broker.props[key];
    const value = raw === undefined ? fallback : Number(raw);
    return Number.isFinite(value) ? value : fallback;
  };
  const d = DEFAULT_TRANSACTION_CONFIG;
  return {
    stateLogPartitions: num('transaction.state.log.num.partitions', d.stateLogPartitions),
    stateLogSegmentBytes: num('transaction.state.log.segment.bytes', d.stateLogSegmentBytes),
    maxTimeoutMs: num('transaction.max.timeout.ms', d.maxTimeoutMs),
    abortCheckIntervalMs: num('transaction.abort.timed.out.transaction.cleanup.interval.ms', d.abortCheckIntervalMs),
  };
}
