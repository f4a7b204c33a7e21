/**
 * What the active controller keeps outside the image about registered brokers: when each
 * last heartbeated (sessions are the controller's own, as in Kafka: a new controller grants
 * every broker a fresh session), and the metadata offsets a broker must reach to be caught
 * up with its registration or controlled shutdown (end offsets: the entry's offset + 1,
 * the high watermark a broker reports once it has applied the entry).
 */
import type { MetadataRecord } from '../metadata/records.js';

export class BrokerSessions {
  private readonly lastContactMs = new Map<number, number>();
  /** Broker id -> end offset of the entry holding its latest RegisterBrokerRecord. */
  private readonly registrationOffsets = new Map<number, number>();
  /** Broker id -> end offset of the entry that put it in controlled shutdown. */
  private readonly shutdownOffsets = new Map<number, number>();

  constructor(private readonly sessionTimeoutMs: number) {}

  /** Follows committed entries (onCommitted). */
  observe(records: readonly MetadataRecord[], offset: number): void {
    const endOffset = offset + 1;
    for (const r of records) {
      if (r.type === 'register-broker') {
        this.registrationOffsets.set(r.brokerId, endOffset);
        this.shutdownOffsets.delete(r.brokerId);
      } else if (r.type === 'broker-registration-change' && r.inControlledShutdown === 1) {
        this.shutdownOffsets.set(r.brokerId, endOffset);
      }
    }
  }

  touch(brokerId: number, nowMs: number): void {
    this.lastContactMs.set(brokerId, nowMs);
  }

  /**
   * On becoming the active controller: every broker gets a full session from now, and a
   * broker whose registration this node did not see must catch up to `highWatermark`.
   */
  activate(brokerIds: Iterable<number>, nowMs: number, highWatermark: number): void {
    for (const id of brokerIds) {
      this.lastContactMs.set(id, nowMs);
      if (!this.registrationOffsets.has(id)) this.registrationOffsets.set(id, highWatermark);
    }
  }

  hasValidSession(brokerId: number, nowMs: number): boolean {
    const last = this.lastContactMs.get(brokerId);
    return last !== undefined && nowMs - last < this.sessionTimeoutMs;
  }

  /** Of `brokerIds`, those whose session has run out (never heard of counts as starting now). */
  expired(brokerIds: Iterable<number>, nowMs: number): number[] {
    const out: number[] = [];
    for (const id of brokerIds) {
      if (!this.lastContactMs.has(id)) this.lastContactMs.set(id, nowMs);
      if (!this.hasValidSession(id, nowMs)) out.push(id);
    }
    return out;
  }

  registrationOffset(brokerId: number): number {
    return this.registrationOffsets.get(brokerId) ?? Number.MAX_SAFE_INTEGER;
  }

  shutdownOffset(brokerId: number): number {
    return this.shutdownOffsets.get(brokerId) ?? Number.MAX_SAFE_INTEGER;
  }
}
