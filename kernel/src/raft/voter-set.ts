/**
 * The voters of a Raft quorum as KIP-853 records them: each voter's id, the id of the log
 * directory it votes with (so a voter whose disk was wiped cannot vote again as if it still
 * held its log) and the endpoints other voters reach it at.
 *
 * A `voters` log entry's data is Kafka's VotersRecord (version 0, flexible):
 *   int16 version, compact array of voters {int32 id, uuid directoryId, compact array of
 *   endpoints {compact string name, compact string host, uint16 port, tags}, kraft version
 *   range {int16 min, int16 max, tags}, tags}, tags.
 * The KRaftVersionRecord that KRaft writes beside it in snapshots is int16 version,
 * int16 kraft.version, tags.
 */
import type { NodeId } from './types.js';

/** KIP-853's kraft.version that dynamic voter sets need; written in every voters record. */
export const KRAFT_VERSION_DYNAMIC = 1;
export const DIRECTORY_ID_BYTES = 16;
/** The directory id of a voter known only from static configuration: any directory. */
export const ZERO_DIRECTORY_ID = new Uint8Array(DIRECTORY_ID_BYTES);

export interface VoterEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface Voter {
  readonly id: NodeId;
  readonly directoryId: Uint8Array;
  readonly endpoints: readonly VoterEndpoint[];
}

/** The voters, by ascending id; immutable. */
export class VoterSet {
  readonly voters: readonly Voter[];

  constructor(voters: readonly Voter[]) {
    const ids = voters.map((v) => v.id);
    if (new Set(ids).size !== ids.length) throw new Error(`duplicate voters ${ids.join(',')}`);
    this.voters = [...voters].sort((a, b) => a.id - b.id);
  }

  /** Voters known only by id (the simulator, tests): any directory, no endpoints. */
  static ofIds(ids: readonly NodeId[]): VoterSet {
    return new VoterSet(ids.map((id) => ({ id, directoryId: ZERO_DIRECTORY_ID, endpoints: [] })));
  }

  ids(): NodeId[] {
    return this.voters.map((v) => v.id);
  }

  has(id: NodeId): boolean {
    return this.voters.some((v) => v.id === id);
  }

  get(id: NodeId): Voter | undefined {
    return this.voters.find((v) => v.id === id);
  }

  size(): number {
    return this.voters.length;
  }

  with(voter: Voter): VoterSet {
    return new VoterSet([...this.voters, voter]);
  }

  without(id: NodeId): VoterSet {
    return new VoterSet(this.voters.filter((v) => v.id !== id));
  }

  /** How many ids are in one set and not the other (a single-server change is 1). */
  distance(other: VoterSet): number {
    const a = new Set(this.ids());
    const b = new Set(other.ids());
    return [...a].filter((id) => !b.has(id)).length + [...b].filter((id) => !a.has(id)).length;
  }

  toString(): string {
    return `{${this.ids().join(',')}}`;
  }
}

export class VotersRecordError extends Error {
  override readonly name = 'VotersRecordError';
}

export function encodeVotersRecord(set: VoterSet): Uint8Array {
  const w = new ByteWriter();
  w.int16(0).uvarint(set.size() + 1);
  for (const v of set.voters) {
    if (v.directoryId.length !== DIRECTORY_ID_BYTES) throw new VotersRecordError(`voter ${v.id} directory id of ${v.directoryId.length} bytes`);
    w.int32(v.id).bytes(v.directoryId).uvarint(v.endpoints.length + 1);
    for (const e of v.endpoints) w.string(e.name).string(e.host).uint16(e.port).uvarint(0);
    w.int16(0).int16(KRAFT_VERSION_DYNAMIC).uvarint(0).uvarint(0);
  }
  return w.uvarint(0).done();
}

export function decodeVotersRecord(bytes: Uint8Array): VoterSet {
  const r = new ByteReader(bytes);
  const version = r.int16();
  if (version !== 0) throw new VotersRecordError(`VotersRecord version ${version}`);
  const voters: Voter[] = [];
  for (let i = r.uvarint() - 1; i > 0; i--) {
    const id = r.int32();
    const directoryId = new Uint8Array(r.bytes(DIRECTORY_ID_BYTES));
    const endpoints: VoterEndpoint[] = [];
    for (let j = r.uvarint() - 1; j > 0; j--) {
      endpoints.push({ name: r.string(), host: r.string(), port: r.uint16() });
      r.skipTags();
    }
    r.int16();
    r.int16();
    r.skipTags();
    r.skipTags();
    voters.push({ id, directoryId, endpoints });
  }
  r.skipTags();
  return new VoterSet(voters);
}

export function encodeKRaftVersionRecord(): Uint8Array {
  return new ByteWriter().int16(0).int16(KRAFT_VERSION_DYNAMIC).uvarint(0).done();
}

class ByteWriter {
  private readonly parts: number[] = [];

  int16(n: number): this {
    return this.push(2, (b) => b.writeInt16BE(n));
  }

  uint16(n: number): this {
    return this.push(2, (b) => b.writeUInt16BE(n));
  }

  int32(n: number): this {
    return this.push(4, (b) => b.writeInt32BE(n));
  }

  uvarint(n: number): this {
    let v = n >>> 0;
    while (v >= 0x80) {
      this.parts.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.parts.push(v);
    return this;
  }

  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }

  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).bytes(b);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }

  private push(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.alloc(size);
    write(b);
    return this.bytes(b);
  }
}

class ByteReader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  int16(): number {
    return this.take(2).readInt16BE();
  }

  uint16(): number {
    return this.take(2).readUInt16BE();
  }

  int32(): number {
    return this.take(4).readInt32BE();
  }

  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.take(1)[0]!;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
    }
    throw new VotersRecordError('varint too long');
  }

  bytes(n: number): Buffer {
    return this.take(n);
  }

  string(): string {
    const n = this.uvarint() - 1;
    if (n < 0) throw new VotersRecordError('null string in a VotersRecord');
    return this.take(n).toString('utf8');
  }

  skipTags(): void {
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint();
      this.take(this.uvarint());
    }
  }

  private take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new VotersRecordError(`VotersRecord truncated at byte ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}
