/**
 * Record-batch compression codecs, by Kafka's attribute number. The kernel needs them only
 * where it must see inside a batch (compaction, the compacted-topic key check); the
 * produce and fetch paths move compressed batches untouched. gzip comes with Node; the
 * Kafka frontend registers snappy, lz4 and zstd when it loads their libraries.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { kafkaError } from '../errors.js';

export const CODEC_NONE = 0;
export const CODEC_GZIP = 1;
export const CODEC_SNAPPY = 2;
export const CODEC_LZ4 = 3;
export const CODEC_ZSTD = 4;

export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export interface Codec {
  compress(data: Buffer): Buffer;
  /** `sizeBytesMax` bounds the output, so a compression bomb is refused, not inflated. */
  decompress(data: Buffer, sizeBytesMax: number): Buffer;
}

const codecs = new Map<number, Codec>([
  [CODEC_GZIP, {
    compress: (data) => gzipSync(data),
    decompress: (data, sizeBytesMax) => gunzipSync(data, { maxOutputLength: sizeBytesMax }),
  }],
]);

export function registerCodec(id: number, codec: Codec): void {
  codecs.set(id, codec);
}

export function codecFor(id: number): Codec {
  const codec = codecs.get(id);
  if (codec === undefined) {
    throw kafkaError('UNSUPPORTED_COMPRESSION_TYPE', `compression codec ${CODEC_NAMES[id] ?? id} is not available`);
  }
  return codec;
}

export function hasCodec(id: number): boolean {
  return id === CODEC_NONE || codecs.has(id);
}
