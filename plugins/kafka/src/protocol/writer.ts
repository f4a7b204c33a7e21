/**
 * Writer for Kafka protocol frames. Encoders size a message exactly first (the generated
 * `sizeOf*`), allocate once and then write without bounds checks; `finish()` verifies that
 * the size and the bytes written agree, so a sizing bug fails loudly instead of sending a
 * truncated frame.
 *
 * Values are trusted to fit their wire types (an int16 field holding 70000 is truncated, as
 * a cast would); the broker builds responses itself, it does not relay client numbers.
 */

const TWO_32 = 4294967296;

/** Byte length of an unsigned varint. */
export function uvarintSize(x: number): number {
  if (x < 0x80) return 1;
  if (x < 0x4000) return 2;
  if (x < 0x200000) return 3;
  if (x < 0x10000000) return 4;
  return 5;
}

/** Wire size of a string field (null allowed where the version makes it nullable). */
export function sizeString(s: string | null, compact: boolean): number {
  if (s === null) return compact ? 1 : 2;
  const n = Buffer.byteLength(s, 'utf8');
  return compact ? uvarintSize(n + 1) + n : 2 + n;
}

/** Wire size of a bytes or records field. */
export function sizeBytes(b: Uint8Array | null, compact: boolean): number {
  if (b === null) return compact ? 1 : 4;
  const n = b.length;
  return compact ? uvarintSize(n + 1) + n : 4 + n;
}

/** Wire size of an array's length prefix; -1 stands for null. */
export function sizeArrayLength(n: number, compact: boolean): number {
  return compact ? uvarintSize(n + 1) : 4;
}

/** Sum of the UTF-8 sizes of an array of strings. */
export function sizeStrings(a: readonly string[], compact: boolean): number {
  let s = 0;
  for (const e of a) s += sizeString(e, compact);
  return s;
}

/** An optional message field, or the default Kafka uses when it is left out. */
export function orDefault<T>(x: T | undefined, d: T): T {
  return x === undefined ? d : x;
}

/** The encoders' answer to a null in a field that the target version cannot carry as null. */
export function notNull<T>(x: T | null, field: string): T {
  if (x === null) throw new TypeError(`${field} is null but not nullable in this version`);
  return x;
}

export class Writer {
  pos: number;
  private chunks: Uint8Array[] | null = null;
  private chunkStart = 0;

  constructor(
    readonly buf: Buffer,
    pos = 0,
  ) {
    this.pos = pos;
  }

  /**
   * A writer whose `records()` emits the record bytes as separate chunks instead of copying
   * them; `size` excludes those bytes. Finish with `finishChunks()`.
   */
  static chunked(size: number): Writer {
    const w = new Writer(Buffer.allocUnsafe(size));
    w.chunks = [];
    return w;
  }

  /** The buffer, after checking that exactly its size was written. */
  finish(): Buffer {
    if (this.pos !== this.buf.length) {
      throw new Error(`encoder wrote ${this.pos} bytes, sized ${this.buf.length}`);
    }
    return this.buf;
  }

  /** Header pieces and record slices in wire order, for a vectored socket write. */
  finishChunks(): Uint8Array[] {
    const chunks = this.chunks;
    if (chunks === null) throw new Error('finishChunks() on a writer that was not created by Writer.chunked()');
    this.finish();
    if (this.pos > this.chunkStart) chunks.push(this.buf.subarray(this.chunkStart, this.pos));
    this.chunkStart = this.pos;
    return chunks;
  }

  int8(x: number): void {
    this.buf[this.pos++] = x;
  }

  bool(x: boolean): void {
    this.buf[this.pos++] = x ? 1 : 0;
  }

  int16(x: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = x >> 8;
    b[p + 1] = x;
    this.pos = p + 2;
  }

  uint16(x: number): void {
    this.int16(x);
  }

  int32(x: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = x >>> 24;
    b[p + 1] = x >>> 16;
    b[p + 2] = x >>> 8;
    b[p + 3] = x;
    this.pos = p + 4;
  }

  uint32(x: number): void {
    this.int32(x);
  }

  int64(x: number): void {
    const hi = Math.floor(x / TWO_32);
    this.int32(hi);
    this.int32(x - hi * TWO_32);
  }

  float64(x: number): void {
    this.pos = this.buf.writeDoubleBE(x, this.pos);
  }

  uuid(u: Uint8Array): void {
    if (u.length !== 16) throw new TypeError(`uuid must be 16 bytes, got ${u.length}`);
    this.buf.set(u, this.pos);
    this.pos += 16;
  }

  uvarint(x: number): void {
    const b = this.buf;
    let p = this.pos;
    while (x >= 0x80) {
      b[p++] = (x & 0x7f) | 0x80;
      x = Math.floor(x / 128);
    }
    b[p++] = x;
    this.pos = p;
  }

  varint(x: number): void {
    this.uvarint(x >= 0 ? x * 2 : -x * 2 - 1);
  }

  varlong(x: number): void {
    // Zigzag of a safe integer can exceed 2^53, so split before shifting.
    const m = x >= 0 ? x : -x - 1;
    const hi = Math.floor(m / 0x8000000);
    let lo = (m - hi * 0x8000000) * 2 + (x >= 0 ? 0 : 1);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < 4; i++) {
      if (hi === 0 && lo < 0x80) {
        b[p++] = lo;
        this.pos = p;
        return;
      }
      b[p++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // 28 low bits written; the number continues with the high part.
    let rest = hi;
    while (rest >= 0x80) {
      b[p++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    b[p++] = rest;
    this.pos = p;
  }

  string(s: string | null, compact: boolean): void {
    if (s === null) throw new TypeError('null string in a version where the field is not nullable');
    this.text(s, compact);
  }

  nullableString(s: string | null, compact: boolean): void {
    if (s !== null) this.text(s, compact);
    else if (compact) this.buf[this.pos++] = 0;
    else this.int16(-1);
  }

  private text(s: string, compact: boolean): void {
    if (!compact) {
      const n = this.utf8(s, this.pos + 2);
      if (n > 0x7fff) throw new RangeError(`string of ${n} bytes exceeds the int16 length limit`);
      this.int16(n);
      this.pos += n;
    } else if (s.length * 3 < 0x7f) {
      // Whatever its UTF-8 size, the length prefix takes one byte.
      const n = this.utf8(s, this.pos + 1);
      this.buf[this.pos] = n + 1;
      this.pos += 1 + n;
    } else {
      this.uvarint(Buffer.byteLength(s, 'utf8') + 1);
      this.pos += this.utf8(s, this.pos);
    }
  }

  /** Writes `s` at `at` and returns its byte length; short ASCII skips the native call. */
  private utf8(s: string, at: number): number {
    const len = s.length;
    if (len <= 64) {
      const b = this.buf;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + i] = c;
      }
      if (i === len) return len;
    }
    return this.buf.write(s, at, 'utf8');
  }

  bytes(x: Uint8Array | null, compact: boolean): void {
    if (x === null) throw new TypeError('null bytes in a version where the field is not nullable');
    this.nullableBytes(x, compact);
  }

  nullableBytes(x: Uint8Array | null, compact: boolean): void {
    this.lengthPrefix(x === null ? -1 : x.length, compact);
    if (x !== null) {
      this.buf.set(x, this.pos);
      this.pos += x.length;
    }
  }

  /** A records field: copied, or handed over as its own chunk by a chunked writer. */
  records(x: Uint8Array | null, compact: boolean, nullable: boolean): void {
    if (x === null && !nullable) throw new TypeError('null records in a version where the field is not nullable');
    if (this.chunks === null || x === null || x.length === 0) {
      this.nullableBytes(x, compact);
      return;
    }
    this.lengthPrefix(x.length, compact);
    this.chunks.push(this.buf.subarray(this.chunkStart, this.pos), x);
    this.chunkStart = this.pos;
  }

  /** Length of a bytes or array field; -1 writes null. */
  private lengthPrefix(n: number, compact: boolean): void {
    if (compact) this.uvarint(n + 1);
    else this.int32(n);
  }

  arrayLength(n: number, compact: boolean): void {
    this.lengthPrefix(n, compact);
  }
}
