/**
 * The metadata records Sluice writes, in KRaft's own encoding (Kafka's
 * `metadata/*Record.json`), so the metadata log is the log a Raft quorum replicates and
 * Kafka's tools can read it. A record value is:
 *
 *   frameVersion uvarint (1) | apiKey uvarint | version uvarint | body (flexible encoding)
 *
 * Bodies use compact strings (uvarint length+1), compact arrays, 16-byte UUIDs and a
 * trailing tagged-field section (count, then tag uvarint | size uvarint | bytes, tags
 * ascending). Unknown tags are skipped on read, so a newer writer's extra tags are
 * harmless. Fields this version does not model are written at their Kafka default
 * (RegisterBrokerRecord's features: empty) and dropped on read. This hand-written codec
 * covers the records Sluice acts on; the generated codecs replace it when the protocol
 * generator lands.
 */
import { assert } from '../errors.js';

export const REGISTER_BROKER_RECORD = 0;
export const UNREGISTER_BROKER_RECORD = 1;
export const TOPIC_RECORD = 2;
export const PARTITION_RECORD = 3;
export const CONFIG_RECORD = 4;
export const PARTITION_CHANGE_RECORD = 5;
export const FENCE_BROKER_RECORD = 7;
export const UNFENCE_BROKER_RECORD = 8;
export const REMOVE_TOPIC_RECORD = 9;
export const PRODUCER_IDS_RECORD = 15;
export const BROKER_REGISTRATION_CHANGE_RECORD = 17;

/** RegisterBrokerRecord v1: v1 added InControlledShutdown; v2's ZK-migration flag does not apply. */
const REGISTER_BROKER_VERSION = 1;
/** BrokerRegistrationChangeRecord v1: v1 added the InControlledShutdown tag. */
const BROKER_REGISTRATION_CHANGE_VERSION = 1;

/** PartitionChangeRecord's Leader: the partition has no leader (offline). */
export const NO_LEADER = -1;

/** Kafka's SecurityProtocol ids, as RegisterBrokerRecord stores them. */
const SECURITY_PROTOCOL_IDS: Readonly<Record<string, number>> = { PLAINTEXT: 0, SSL: 1, SASL_PLAINTEXT: 2, SASL_SSL: 3 };

export function isSecurityProtocol(name: string): boolean {
  return Object.hasOwn(SECURITY_PROTOCOL_IDS, name);
}

export function securityProtocolId(name: string): number {
  const id = SECURITY_PROTOCOL_IDS[name];
  assert(id !== undefined, `known security protocol ${name}`);
  return id;
}

export function securityProtocolName(id: number): string {
  const entry = Object.entries(SECURITY_PROTOCOL_IDS).find(([, v]) => v === id);
  if (entry === undefined) throw new Error(`metadata record with unknown security protocol id ${id}`);
  return entry[0];
}

export interface BrokerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Kafka's SecurityProtocol id (0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL). */
  readonly securityProtocol: number;
}

/** ConfigRecord resource types, Kafka's ConfigResource.Type ids. */
export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

export type MetadataRecord =
  | { readonly type: 'topic'; readonly name: string; readonly topicId: Uint8Array }
  | {
      readonly type: 'partition'; readonly topicId: Uint8Array; readonly partitionId: number;
      readonly replicas: readonly number[]; readonly isr: readonly number[];
      readonly leader: number; readonly leaderEpoch: number; readonly partitionEpoch: number;
      /** A reassignment in progress: replicas joining and leaving (absent: none). */
      readonly addingReplicas?: readonly number[]; readonly removingReplicas?: readonly number[];
    }
  | { readonly type: 'config'; readonly resourceType: number; readonly resourceName: string; readonly name: string;
      readonly value: string | null }
  | { readonly type: 'remove-topic'; readonly topicId: Uint8Array }
  | { readonly type: 'producer-ids'; readonly brokerId: number; readonly brokerEpoch: number; readonly nextProducerId: number }
  | {
      readonly type: 'register-broker'; readonly brokerId: number; readonly incarnationId: Uint8Array;
      readonly brokerEpoch: number; readonly endPoints: readonly BrokerEndpoint[]; readonly rack: string | null;
      readonly fenced: boolean; readonly inControlledShutdown: boolean;
    }
  | { readonly type: 'unregister-broker'; readonly brokerId: number; readonly brokerEpoch: number }
  /**
   * Only what changed: an absent `isr`/`replicas`/`addingReplicas`/`removingReplicas` keeps
   * the old list, an absent `leader` keeps the leader (Kafka's -2); a present `leader` (even
   * the same one) bumps the leader epoch. Every change bumps the partition epoch.
   */
  | {
      readonly type: 'partition-change'; readonly topicId: Uint8Array; readonly partitionId: number;
      readonly isr?: readonly number[]; readonly leader?: number; readonly replicas?: readonly number[];
      readonly removingReplicas?: readonly number[]; readonly addingReplicas?: readonly number[];
    }
  | { readonly type: 'fence-broker'; readonly brokerId: number; readonly brokerEpoch: number }
  | { readonly type: 'unfence-broker'; readonly brokerId: number; readonly brokerEpoch: number }
  /** `fenced`: -1 unfenced, 0 no change, 1 fenced; `inControlledShutdown`: 0 no change, 1 entered. */
  | {
      readonly type: 'broker-registration-change'; readonly brokerId: number; readonly brokerEpoch: number;
      readonly fenced: -1 | 0 | 1; readonly inControlledShutdown: 0 | 1;
    };

/** Tag numbers of PartitionChangeRecord's tagged fields. */
const PARTITION_CHANGE_TAG_ISR = 0;
const PARTITION_CHANGE_TAG_LEADER = 1;
const PARTITION_CHANGE_TAG_REPLICAS = 2;
const PARTITION_CHANGE_TAG_REMOVING_REPLICAS = 3;
const PARTITION_CHANGE_TAG_ADDING_REPLICAS = 4;
/** Tag numbers of BrokerRegistrationChangeRecord's tagged fields. */
const REGISTRATION_CHANGE_TAG_FENCED = 0;
const REGISTRATION_CHANGE_TAG_CONTROLLED_SHUTDOWN = 1;

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
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  int16(v: number): this {
    this.parts.push((v >>> 8) & 0xff, v & 0xff);
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
  /** A tagged-field section; `fields` are written in ascending tag order. */
  tags(fields: ReadonlyArray<readonly [number, Buffer]>): this {
    const sorted = [...fields].sort((a, b) => a[0] - b[0]);
    this.uvarint(sorted.length);
    for (const [tag, data] of sorted) this.uvarint(tag).uvarint(data.length).bytes(data);
    return this;
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
  bool(): boolean {
    return this.int8() !== 0;
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
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
  nullableInt32Array(): number[] | null {
    if (this.buf[this.pos] === 0) {
      this.pos++;
      return null;
    }
    return this.int32Array();
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
    this.tags();
  }
  tags(): Map<number, Buffer> {
    const out = new Map<number, Buffer>();
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      out.set(tag, this.bytes(this.uvarint()));
    }
    return out;
  }
}

export function encodeMetadataRecord(r: MetadataRecord): Buffer {
  const w = new Writer().uvarint(1);
  switch (r.type) {
    case 'topic':
      return w.uvarint(TOPIC_RECORD).uvarint(0).compactString(r.name).uuid(r.topicId).noTags().done();
    case 'partition':
      return w.uvarint(PARTITION_RECORD).uvarint(0).int32(r.partitionId).uuid(r.topicId)
        .int32Array(r.replicas).int32Array(r.isr).int32Array(r.removingReplicas ?? []).int32Array(r.addingReplicas ?? [])
        .int32(r.leader).int32(r.leaderEpoch).int32(r.partitionEpoch).noTags().done();
    case 'config':
      return w.uvarint(CONFIG_RECORD).uvarint(0).int8(r.resourceType).compactString(r.resourceName)
        .compactString(r.name).compactString(r.value).noTags().done();
    case 'remove-topic':
      return w.uvarint(REMOVE_TOPIC_RECORD).uvarint(0).uuid(r.topicId).noTags().done();
    case 'producer-ids':
      return w.uvarint(PRODUCER_IDS_RECORD).uvarint(0).int32(r.brokerId).int64(r.brokerEpoch).int64(r.nextProducerId)
        .noTags().done();
    case 'register-broker': {
      w.uvarint(REGISTER_BROKER_RECORD).uvarint(REGISTER_BROKER_VERSION).int32(r.brokerId).uuid(r.incarnationId)
        .int64(r.brokerEpoch).uvarint(r.endPoints.length + 1);
      for (const e of r.endPoints) {
        assert(Number.isInteger(e.port) && e.port >= 0 && e.port <= 0xffff, 'endpoint port is a uint16');
        w.compactString(e.name).compactString(e.host).int16(e.port).int16(e.securityProtocol).noTags();
      }
      return w.uvarint(1).compactString(r.rack).bool(r.fenced).bool(r.inControlledShutdown).noTags().done();
    }
    case 'unregister-broker':
      return w.uvarint(UNREGISTER_BROKER_RECORD).uvarint(0).int32(r.brokerId).int64(r.brokerEpoch).noTags().done();
    case 'partition-change': {
      const tags: Array<[number, Buffer]> = [];
      if (r.isr !== undefined) tags.push([PARTITION_CHANGE_TAG_ISR, new Writer().int32Array(r.isr).done()]);
      if (r.leader !== undefined) tags.push([PARTITION_CHANGE_TAG_LEADER, new Writer().int32(r.leader).done()]);
      if (r.replicas !== undefined) tags.push([PARTITION_CHANGE_TAG_REPLICAS, new Writer().int32Array(r.replicas).done()]);
      if (r.removingReplicas !== undefined) {
        tags.push([PARTITION_CHANGE_TAG_REMOVING_REPLICAS, new Writer().int32Array(r.removingReplicas).done()]);
      }
      if (r.addingReplicas !== undefined) tags.push([PARTITION_CHANGE_TAG_ADDING_REPLICAS, new Writer().int32Array(r.addingReplicas).done()]);
      return w.uvarint(PARTITION_CHANGE_RECORD).uvarint(0).int32(r.partitionId).uuid(r.topicId).tags(tags).done();
    }
    case 'fence-broker':
      return w.uvarint(FENCE_BROKER_RECORD).uvarint(0).int32(r.brokerId).int64(r.brokerEpoch).noTags().done();
    case 'unfence-broker':
      return w.uvarint(UNFENCE_BROKER_RECORD).uvarint(0).int32(r.brokerId).int64(r.brokerEpoch).noTags().done();
    case 'broker-registration-change': {
      const tags: Array<[number, Buffer]> = [];
      if (r.fenced !== 0) tags.push([REGISTRATION_CHANGE_TAG_FENCED, new Writer().int8(r.fenced).done()]);
      if (r.inControlledShutdown !== 0) {
        tags.push([REGISTRATION_CHANGE_TAG_CONTROLLED_SHUTDOWN, new Writer().int8(r.inControlledShutdown).done()]);
      }
      return w.uvarint(BROKER_REGISTRATION_CHANGE_RECORD).uvarint(BROKER_REGISTRATION_CHANGE_VERSION).int32(r.brokerId)
        .int64(r.brokerEpoch).tags(tags).done();
    }
  }
}

/** Decodes a record value; undefined for record types this version does not act on. */
export function decodeMetadataRecord(value: Buffer): MetadataRecord | undefined {
  const r = new Reader(value);
  const frame = r.uvarint();
  if (frame !== 1) throw new Error(`metadata record frame version ${frame}`);
  const apiKey = r.uvarint();
  const version = r.uvarint();
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
      const removingReplicas = r.int32Array();
      const addingReplicas = r.int32Array();
      return { type: 'partition', partitionId, topicId, replicas, isr, leader: r.int32(), leaderEpoch: r.int32(),
        partitionEpoch: r.int32(),
        ...(removingReplicas.length > 0 ? { removingReplicas } : {}), ...(addingReplicas.length > 0 ? { addingReplicas } : {}) };
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
    case REGISTER_BROKER_RECORD: {
      const brokerId = r.int32();
      if (version >= 2) r.bool(); // IsMigratingZkBroker
      const incarnationId = r.uuid();
      const brokerEpoch = r.int64();
      const endPoints: BrokerEndpoint[] = [];
      for (let i = r.uvarint() - 1; i > 0; i--) {
        const name = r.compactString() ?? '';
        const host = r.compactString() ?? '';
        endPoints.push({ name, host, port: r.uint16(), securityProtocol: r.int16() });
        r.skipTags();
      }
      for (let i = r.uvarint() - 1; i > 0; i--) { // features: not modelled
        r.compactString();
        r.int16();
        r.int16();
        r.skipTags();
      }
      const rack = r.compactString();
      const fenced = r.bool();
      const inControlledShutdown = version >= 1 ? r.bool() : false;
      return { type: 'register-broker', brokerId, incarnationId, brokerEpoch, endPoints, rack, fenced, inControlledShutdown };
    }
    case UNREGISTER_BROKER_RECORD:
      return { type: 'unregister-broker', brokerId: r.int32(), brokerEpoch: r.int64() };
    case PARTITION_CHANGE_RECORD: {
      const partitionId = r.int32();
      const topicId = r.uuid();
      const tags = r.tags();
      const isr = taggedInt32Array(tags.get(PARTITION_CHANGE_TAG_ISR));
      const leaderBytes = tags.get(PARTITION_CHANGE_TAG_LEADER);
      const leader = leaderBytes === undefined ? -2 : new Reader(leaderBytes).int32();
      const replicas = taggedInt32Array(tags.get(PARTITION_CHANGE_TAG_REPLICAS));
      const removingReplicas = taggedInt32Array(tags.get(PARTITION_CHANGE_TAG_REMOVING_REPLICAS));
      const addingReplicas = taggedInt32Array(tags.get(PARTITION_CHANGE_TAG_ADDING_REPLICAS));
      return {
        type: 'partition-change', topicId, partitionId,
        ...(isr !== null ? { isr } : {}), ...(leader !== -2 ? { leader } : {}), ...(replicas !== null ? { replicas } : {}),
        ...(removingReplicas !== null ? { removingReplicas } : {}), ...(addingReplicas !== null ? { addingReplicas } : {}),
      };
    }
    case FENCE_BROKER_RECORD:
      return { type: 'fence-broker', brokerId: r.int32(), brokerEpoch: r.int64() };
    case UNFENCE_BROKER_RECORD:
      return { type: 'unfence-broker', brokerId: r.int32(), brokerEpoch: r.int64() };
    case BROKER_REGISTRATION_CHANGE_RECORD: {
      const brokerId = r.int32();
      const brokerEpoch = r.int64();
      const tags = r.tags();
      const fencedBytes = tags.get(REGISTRATION_CHANGE_TAG_FENCED);
      const shutdownBytes = tags.get(REGISTRATION_CHANGE_TAG_CONTROLLED_SHUTDOWN);
      const fenced = fencedBytes === undefined ? 0 : new Reader(fencedBytes).int8();
      const inControlledShutdown = shutdownBytes === undefined ? 0 : new Reader(shutdownBytes).int8();
      if (fenced !== -1 && fenced !== 0 && fenced !== 1) throw new Error(`BrokerRegistrationChangeRecord fenced ${fenced}`);
      if (inControlledShutdown !== 0 && inControlledShutdown !== 1) {
        throw new Error(`BrokerRegistrationChangeRecord inControlledShutdown ${inControlledShutdown}`);
      }
      return { type: 'broker-registration-change', brokerId, brokerEpoch, fenced, inControlledShutdown };
    }
    default:
      return undefined;
  }
}

/** A tagged nullable int32 array: absent or null both mean "no change". */
function taggedInt32Array(bytes: Buffer | undefined): number[] | null {
  return bytes === undefined ? null : new Reader(bytes).nullableInt32Array();
}
