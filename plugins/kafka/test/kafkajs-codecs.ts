/**
 * KafkaJS ships only gzip. For snappy, lz4 and zstd the tests plug in adapters over the
 * kernel's own codecs (kernel/src/log/compression.ts): the npm codec packages for lz4 and
 * zstd build native code at install time, which a machine without a compiler toolchain's
 * downloads cannot do. The adapters are test-only and read what librdkafka wrote, so a
 * codec that only agreed with itself would still be caught.
 */
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { codecFor } from '../../../kernel/dist/log/compression.js';

/** Large enough for any batch a test writes; the kernel's codecs refuse to inflate past it. */
const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

const CODEC_IDS = { [CompressionTypes.Snappy]: 2, [CompressionTypes.LZ4]: 3, [CompressionTypes.ZSTD]: 4 } as const;

export function registerKernelCodecs(): void {
  for (const [type, id] of Object.entries(CODEC_IDS)) {
    const codec = codecFor(id);
    (CompressionCodecs as Record<number, () => unknown>)[Number(type)] = () => ({
      compress: async (encoder: { buffer: Buffer }) => codec.compress(encoder.buffer),
      decompress: async (buffer: Buffer) => codec.decompress(buffer, DECOMPRESSED_BYTES_MAX),
    });
  }
}
