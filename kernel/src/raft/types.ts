/**
 * Vocabulary of the Raft core. Kafka's KRaft says "epoch" where the Raft paper says "term";
 * we follow KRaft because partition leader epochs (KIP-101) will share the same notion.
 */

export type NodeId = number;

/** The Raft term. Epoch 0 means "no election has happened yet". */
export type Epoch = number;

/**
 * `leader-change` is the control entry a new leader appends at the start of its epoch: the
 * Raft commit rule only commits entries of the current epoch, so without it a leader elected
 * on an idle log could never advance the high watermark over entries of earlier epochs.
 */
export type EntryKind = 'data' | 'leader-change' | 'voters';

export interface LogEntry {
  readonly epoch: Epoch;
  readonly offset: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** A log position: `offset` is an end offset (exclusive), `epoch` the epoch that ends there. */
export interface OffsetAndEpoch {
  readonly offset: number;
  readonly epoch: Epoch;
}

export type RoleName = 'unattached' | 'follower' | 'prospective' | 'candidate' | 'leader';

/** Raft's "at least as up-to-date" rule (§5.4.1), on the last epoch first, then the length. */
export function isLogUpToDate(candidate: OffsetAndEpoch, local: OffsetAndEpoch): boolean {
  if (candidate.epoch !== local.epoch) return candidate.epoch > local.epoch;
  return candidate.offset >= local.offset;
}

export function majorityOf(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}
