/**
 * The metadata records Sluice writes today, in KRaft's own encoding (Kafka's
 * `metadata/*Record.json`), so the single-node metadata log is already the log a Raft
 * quorum will replicate. A record value is:
 *
 *   frameVersion uvarint (1) | apiKey uvarint | version uvarint | body (flexible encoding)
 *
 * Bodies use compact strings (uvarint length+1), compact arrays, 16-byte UUIDs and a
 * trailing tagged-field section (always empty here; unknown tags are skipped on read).
 * This hand-written codec covers five records; the generated codecs replace it when the
 * protocol generator lands.
 */
import { assert } from '../errors.js';

export const TOPIC_RECORD = 2;
export const PARTITION_RECORD = 3;
export const CONFIG_RECORD = 4;
export const REMOVE_TOPIC_RECORD = 9;
export const PRODUCER_IDS_RECORD = 15;

/** ConfigRecord resource types, Kafka's ConfigResource.Type ids. */
export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

export type MetadataRecord =
  | { readonly type: 'topic'; readonly name: string; readonly topicId: Uint8Array }
  | {
      readonly type: 'partition'; readonly topicId: Uint8Array; readonly partitionId: number;
      readonly replicas: readonly number[]; readonly isr: readonly number[];
      readonly leader: number; readonly leaderEpoch: number; readonly partitionEpoch: number;
    }
  | { readonly type: 'config'; readonly resourceType: number; readonly resourceName: string; readonly name: string;
      readonly value: string | null }
  | { readonly type: 'remove-topic'; readonly topicId: Uint8Array }
  | { readonly type: 'producer-ids'; readonly brokerId: number; readonly brokerEpoch: number; readonly nextProducerId: number };

class Writer {
  private parts: number[] = [];
  uvarint(v: number): this {
    assert(Number.isSafeInteger(v) && v >= 0, 'uvarint is a non-negative integer');
    while (v >= 0x80) {
      this.parts.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.parts.push(v);
    return this;
  }
  int8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  int32(v: number): this {
    this.parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }
  int64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return this.bytes(b);
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  compactString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).bytes(b);
  }
  int32Array(a: readonly number[]): this {
    this.uvarint(a.length + 1);
    for (const v of a) this.int32(v);
    return this;
  }
  uuid(id: Uint8Array): this {
    assert(id.length === 16, 'uuid is 16 bytes');
    return this.bytes(id);
  }
  noTags(): this {
    return this.uvarint(0);
  }
  done(): Buffer {
    return Buffer.from(this.parts);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('metadata record truncated');
  }
  uvarint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new Error('metadata record varint too long');
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): number {
    this.need(8);
    const v = Number(this.buf.readBigInt64BE(this.pos));
    this.pos += 8;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  compactString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.bytes(n - 1).toString('utf8');
  }
  int32Array(): number[] {
    const n = this.uvarint();
    const out: number[] = [];
    for (let i = 0; i < n - 1; i++) out.push(this.int32());
    return out;
  }
  uuid(): Buffer {
    return this.bytes(16);
  }
  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.bytes(this.uvarint());
    }
  }
}

export function encodeMetadataRecord(r: MetadataRecord): Buffer {
  const w = new Writer().uvarint(1);
  switch (r.type) {
    case 'topic':
      return w.uvarint(TOPIC_RECORD).uvarint(0).compactString(r.name).uuid(r.topicId).noTags().done();
    case 'partition':
      return w.uvarint(PARTITION_RECORD).uvarint(0).int32(r.partitionId).uuid(r.topicId)
        .int32Array(r.replicas).int32Array(r.isr).int32Array([]).int32Array([])
        .int32(r.leader).int32(r.leaderEpoch).int32(r.partitionEpoch).noTags().done();
    case 'config':
      return w.uvarint(CONFIG_RECORD).uvarint(0).int8(r.resourceType).compactString(r.resourceName)
        .compactString(r.name).compactString(r.value).noTags().done();
    case 'remove-topic':
      return w.uvarint(REMOVE_TOPIC_RECORD).uvarint(0).uuid(r.topicId).noTags().done();
    case 'producer-ids':
      return w.uvarint(PRODUCER_IDS_RECORD).uvarint(0).int32(r.brokerId).int64(r.brokerEpoch).int64(r.nextProducerId)
        .noTags().done();
  }
}

/** Decodes a record value; undefined for record types this version does not act on. */
export function decodeMetadataRecord(value: Buffer): MetadataRecord | undefined {
  const r = new Reader(value);
  const frame = r.uvarint();
  if (frame !== 1) throw new Error(`metadata record frame version ${frame}`);
  const apiKey = r.uvarint();
  r.uvarint(); // version: every version we read shares the v0 prefix
  switch (apiKey) {
    case TOPIC_RECORD: {
      const name = r.compactString();
      if (name === null) throw new Error('TopicRecord without a name');
      return { type: 'topic', name, topicId: r.uuid() };
    }
    case PARTITION_RECORD: {
      const partitionId = r.int32();
      const topicId = r.uuid();
      const replicas = r.int32Array();
      const isr = r.int32Array();
      r.int32Array();
      r.int32Array();
      return { type: 'partition', partitionId, topicId, replicas, isr, leader: r.int32(), leaderEpoch: r.int32(),
        partitionEpoch: r.int32() };
    }
    case CONFIG_RECORD: {
      const resourceType = r.int8();
      const resourceName = r.compactString() ?? '';
      const name = r.compactString();
      if (name === null) throw new Error('ConfigRecord without a name');
      return { type: 'config', resourceType, resourceName, name, value: r.compactString() };
    }
    case REMOVE_TOPIC_RECORD:
      return { type: 'remove-topic', topicId: r.uuid() };
    case PRODUCER_IDS_RECORD:
      return { type: 'producer-ids', brokerId: r.int32(), brokerEpoch: r.int64(), nextProducerId: r.int64() };
    default:
      return undefined;
  }
}
