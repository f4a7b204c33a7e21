/**
 * The data of one metadata Raft entry: the records one controller operation commits
 * atomically, each KRaft-encoded (records.ts).
 *
 * Layout: repeated `[uint32 BE length][encoded record]`, nothing else; an empty list is
 * zero bytes. A record type this build does not know decodes to nothing and is skipped,
 * as KRaft brokers skip records newer than they are.
 */
import { decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from './records.js';

const LENGTH_BYTES = 4;

export function encodeMetadataEntry(records: readonly MetadataRecord[]): Uint8Array {
  const encoded = records.map(encodeMetadataRecord);
  const out = Buffer.allocUnsafe(encoded.reduce((n, e) => n + LENGTH_BYTES + e.length, 0));
  let pos = 0;
  for (const e of encoded) {
    pos = out.writeUInt32BE(e.length, pos);
    pos += e.copy(out, pos);
  }
  return out;
}

export function decodeMetadataEntry(data: Uint8Array): MetadataRecord[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const records: MetadataRecord[] = [];
  for (let pos = 0; pos < buf.length;) {
    if (pos + LENGTH_BYTES > buf.length) throw new Error(`metadata entry cut inside a length at byte ${pos}`);
    const length = buf.readUInt32BE(pos);
    pos += LENGTH_BYTES;
    if (pos + length > buf.length) throw new Error(`metadata record of ${length} bytes at byte ${pos} overruns the entry`);
    const record = decodeMetadataRecord(buf.subarray(pos, pos + length));
    if (record !== undefined) records.push(record);
    pos += length;
  }
  return records;
}
