/**
 * Bounds-checked reader for Kafka protocol frames.
 *
 * int64 is decoded to `number`, not `bigint`: offsets, timestamps, producer ids and epochs on
 * a real cluster stay far below 2^53, the kernel keeps offsets as `number`, and a `bigint` per
 * field would cost an allocation on the produce and fetch paths. A value whose magnitude
 * exceeds Number.MAX_SAFE_INTEGER cannot be represented exactly, so it is rejected with a
 * ProtocolError instead of being silently rounded. Kafka's sentinels (-1, -2, -3) are small
 * and pass.
 *
 * `bytes`, `records` and `uuid` values are views into the frame (`subarray`), never copies:
 * the Produce path hands record batches to the log without touching them. Anyone who keeps
 * such a value after the frame's buffer is reused must copy it.
 */

/**
 * A frame that does not follow the protocol: truncated, a negative or oversized length, a
 * null where the version forbids it, trailing bytes. The server answers it by closing the
 * connection (or INVALID_REQUEST / CORRUPT_MESSAGE where Kafka does).
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/**
 * The shape a decoder returns: every property present, because decoders fill the fields a
 * version lacks with their defaults. Message interfaces mark such fields optional so that
 * encoders can be given only what the target version carries.
 */
export type Decoded<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer E)[]
    ? Decoded<E>[]
    : T extends object
      ? { [K in keyof T]-?: Decoded<T[K]> }
      : T;

/** Shared default for absent `bytes` fields; never write into it. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

const TWO_32 = 4294967296;

export class Reader {
  /** Tagged fields skipped because this codec does not know their tag. */
  skippedTags = 0;

  constructor(
    readonly buf: Buffer,
    public pos = 0,
    public end = buf.length,
  ) {}

  remaining(): number {
    return this.end - this.pos;
  }

  /** Kafka ignores nothing after a body; neither do we. */
  expectEnd(): void {
    if (this.pos !== this.end) throw new ProtocolError(`${this.end - this.pos} unexpected trailing bytes at ${this.pos}`);
  }

  private need(n: number): number {
    const p = this.pos;
    if (this.end - p < n) throw new ProtocolError(`truncated: need ${n} bytes at ${p}, have ${this.end - p}`);
    this.pos = p + n;
    return p;
  }

  int8(): number {
    const p = this.need(1);
    return (this.buf[p]! << 24) >> 24;
  }

  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }

  int16(): number {
    const p = this.need(2);
    const b = this.buf;
    return ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16;
  }

  uint16(): number {
    const p = this.need(2);
    const b = this.buf;
    return (b[p]! << 8) | b[p + 1]!;
  }

  int32(): number {
    const p = this.need(4);
    const b = this.buf;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  uint32(): number {
    const p = this.need(4);
    const b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  int64(): number {
    const p = this.need(8);
    const b = this.buf;
    const hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    const lo = b[p + 4]! * 0x1000000 + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
    const v = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) throw new ProtocolError(`int64 at ${p} exceeds 2^53`);
    return v;
  }

  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }

  uuid(): Uint8Array {
    const p = this.need(16);
    return this.buf.subarray(p, p + 16);
  }

  /** Unsigned LEB128 up to 32 bits (Kafka's unsigned varint): at most 5 bytes. */
  uvarint(): number {
    const b = this.buf;
    let p = this.pos;
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (p >= this.end) throw new ProtocolError(`truncated varint at ${this.pos}`);
      const byte = b[p++]!;
      if (shift === 28 && byte > 0x0f) break;
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        this.pos = p;
        return v;
      }
    }
    throw new ProtocolError(`varint at ${this.pos} longer than 32 bits`);
  }

  /** Zigzag-encoded signed 32-bit varint, as in record headers. */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zigzag-encoded signed 64-bit varint; rejected when it does not fit a safe integer. */
  varlong(): number {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) throw new ProtocolError(`truncated varlong at ${this.pos}`);
      const byte = b[p++]!;
      if (i < 4) lo += (byte & 0x7f) * 2 ** (7 * i);
      else hi += (byte & 0x7f) * 2 ** (7 * (i - 4));
      if (byte < 0x80) {
        this.pos = p;
        const magnitude = hi * 0x8000000 + Math.floor(lo / 2);
        const v = lo % 2 === 0 ? magnitude : -magnitude - 1;
        if (!Number.isSafeInteger(v)) throw new ProtocolError(`varlong at ${this.pos} exceeds 2^53`);
        return v;
      }
    }
    throw new ProtocolError(`varlong at ${this.pos} longer than 10 bytes`);
  }

  private text(n: number): string {
    const p = this.need(n);
    return this.buf.toString('utf8', p, p + n);
  }

  string(): string {
    const n = this.int16();
    if (n < 0) throw new ProtocolError(`null or negative string length ${n} at ${this.pos - 2}`);
    return this.text(n);
  }

  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < 0) throw new ProtocolError(`negative string length ${n} at ${this.pos - 2}`);
    return this.text(n);
  }

  compactString(): string {
    const n = this.uvarint() - 1;
    if (n < 0) throw new ProtocolError(`null compact string at ${this.pos - 1}`);
    return this.text(n);
  }

  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.text(n);
  }

  private slice(n: number): Buffer {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }

  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) throw new ProtocolError(`null or negative bytes length ${n} at ${this.pos - 4}`);
    return this.slice(n);
  }

  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) throw new ProtocolError(`negative bytes length ${n} at ${this.pos - 4}`);
    return this.slice(n);
  }

  compactBytes(): Buffer {
    const n = this.uvarint() - 1;
    if (n < 0) throw new ProtocolError(`null compact bytes at ${this.pos - 1}`);
    return this.slice(n);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.slice(n);
  }

  /**
   * Checks a count against the bytes left before anything is allocated for it: each element
   * takes at least `minSize` bytes, so a forged count cannot reserve more than the frame holds.
   */
  private count(n: number, minSize: number, at: number): number {
    if (n * minSize > this.end - this.pos) {
      throw new ProtocolError(`array of ${n} at ${at} cannot fit in ${this.end - this.pos} bytes`);
    }
    return n;
  }

  arrayLength(minSize: number): number {
    const n = this.int32();
    if (n < 0) throw new ProtocolError(`null or negative array length ${n} at ${this.pos - 4}`);
    return this.count(n, minSize, this.pos - 4);
  }

  /** -1 means null. */
  nullableArrayLength(minSize: number): number {
    const n = this.int32();
    if (n === -1) return -1;
    if (n < 0) throw new ProtocolError(`negative array length ${n} at ${this.pos - 4}`);
    return this.count(n, minSize, this.pos - 4);
  }

  compactArrayLength(minSize: number): number {
    const at = this.pos;
    const n = this.uvarint() - 1;
    if (n < 0) throw new ProtocolError(`null compact array at ${at}`);
    return this.count(n, minSize, at);
  }

  /** -1 means null. */
  compactNullableArrayLength(minSize: number): number {
    const at = this.pos;
    const n = this.uvarint() - 1;
    return n < 0 ? -1 : this.count(n, minSize, at);
  }

  /** KIP-893 nullable struct marker: a negative int8 means null. */
  structPresent(): boolean {
    return this.int8() >= 0;
  }

  /** Number of tagged fields; each takes at least two bytes (tag and size). */
  tagCount(): number {
    return this.count(this.uvarint(), 2, this.pos);
  }

  /** Reads a tagged field's size and returns where the field ends. */
  tagEnd(): number {
    const size = this.uvarint();
    if (size > this.end - this.pos) throw new ProtocolError(`tagged field of ${size} bytes overruns the frame at ${this.pos}`);
    return this.pos + size;
  }

  /** A known tagged field must fill exactly the size it declared. */
  endTag(end: number): void {
    if (this.pos !== end) throw new ProtocolError(`tagged field ends at ${this.pos}, declared end ${end}`);
  }

  skipTag(end: number): void {
    this.pos = end;
    this.skippedTags++;
  }

  /** The tagged-field section of a struct that defines no tags in this version. */
  skipTags(): void {
    for (let n = this.tagCount(); n > 0; n--) {
      this.uvarint();
      this.skipTag(this.tagEnd());
    }
  }
}

export function readArray<T>(r: Reader, n: number, v: number, read: (r: Reader, v: number) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(read(r, v));
  return out;
}

/** `n` as returned by the nullable length readers: -1 is null. */
export function readNullableArray<T>(r: Reader, n: number, v: number, read: (r: Reader, v: number) => T): T[] | null {
  return n < 0 ? null : readArray(r, n, v, read);
}

export const readInt8 = (r: Reader): number => r.int8();
export const readInt16 = (r: Reader): number => r.int16();
export const readInt32 = (r: Reader): number => r.int32();
export const readInt64 = (r: Reader): number => r.int64();
export const readUuid = (r: Reader): Uint8Array => r.uuid();
export const readString = (r: Reader): string => r.string();
export const readCompactString = (r: Reader): string => r.compactString();
