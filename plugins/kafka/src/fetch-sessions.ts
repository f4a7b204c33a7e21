/**
 * Incremental fetch sessions (KIP-227). A consumer fetching many partitions opens a session
 * (session id 0, epoch 0); later requests (same id, epoch + 1) list only partitions whose
 * fetch position changed, and responses list only partitions with something new (data, or a
 * changed high watermark / last stable offset / log start offset, or an error).
 *
 * Bounded: at most `slotsMax` sessions (`max.incremental.fetch.session.cache.slots`); when
 * full, the least recently used session is evicted and its client's next incremental fetch
 * gets FETCH_SESSION_ID_NOT_FOUND, after which it starts a full fetch again.
 */
import { randomInt } from 'node:crypto';

export interface SessionPartition {
  readonly topic: string;
  readonly partition: number;
  fetchOffset: number;
  maxBytes: number;
  /** What the last response told the client, to decide whether the next must include it. */
  lastHighWatermark: number;
  lastStableOffset: number;
  lastLogStartOffset: number;
}

export interface FetchSession {
  readonly id: number;
  /** The epoch the next request must carry. */
  nextEpoch: number;
  /** Insertion order is the order partitions are answered in. */
  readonly partitions: Map<string, SessionPartition>;
}

/** Session id 0 with epoch -1: a plain fetch; epoch 0 opens a session; -1 on an id closes it. */
export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export class FetchSessions {
  private readonly sessions = new Map<number, FetchSession>();

  constructor(private readonly slotsMax: number) {}

  get size(): number {
    return this.sessions.size;
  }

  /** A new session, or undefined when sessions are disabled (slots 0). */
  open(): FetchSession | undefined {
    if (this.slotsMax <= 0) return undefined;
    if (this.sessions.size >= this.slotsMax) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    let id = 0;
    while (id === 0 || this.sessions.has(id)) id = randomInt(1, 2 ** 31 - 1);
    const session: FetchSession = { id, nextEpoch: 1, partitions: new Map() };
    this.sessions.set(id, session);
    return session;
  }

  /** Looks a session up and marks it recently used. */
  get(id: number): FetchSession | undefined {
    const session = this.sessions.get(id);
    if (session !== undefined) {
      this.sessions.delete(id);
      this.sessions.set(id, session);
    }
    return session;
  }

  close(id: number): void {
    this.sessions.delete(id);
  }
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
