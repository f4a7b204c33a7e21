/**
 * The smallest RecordBatch v2 encoder an append needs: uncompressed, no producer id, no
 * headers. The kernel assigns offsets and the leader epoch at append; the CRC must be
 * right, since the kernel validates it like any produce.
 */

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Zigzag varint, as record fields are encoded. */
function varint(out: number[], value: number): void {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

const HEADER_BYTES = 61;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;

export function encodeBatch(values: readonly Uint8Array[], timestampMs: number): Uint8Array {
  const records: number[] = [];
  values.forEach((value, i) => {
    const body: number[] = [0]; // attributes
    varint(body, 0); // timestamp delta
    varint(body, i); // offset delta
    varint(body, -1); // null key
    varint(body, value.length);
    for (const b of value) body.push(b);
    varint(body, 0); // no headers
    varint(records, body.length);
    for (const b of body) records.push(b);
  });
  const buf = Buffer.alloc(HEADER_BYTES + records.length);
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(-1, 12); // partition leader epoch
  buf.writeInt8(2, 16); // magic
  buf.writeInt16BE(0, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(values.length - 1, 23); // last offset delta
  buf.writeBigInt64BE(BigInt(timestampMs), 27);
  buf.writeBigInt64BE(BigInt(timestampMs), 35);
  buf.writeBigInt64BE(-1n, 43); // producer id
  buf.writeInt16BE(-1, 51); // producer epoch
  buf.writeInt32BE(-1, 53); // base sequence
  buf.writeInt32BE(values.length, 57);
  Buffer.from(records).copy(buf, HEADER_BYTES);
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}
