/**
 * CRC-32C (Castagnoli), the checksum of RecordBatch v2 and of Sluice's own files.
 * @node-rs/crc32 is a prebuilt SIMD implementation (about 3 GB/s here, several times a
 * table-driven JS loop), which matters because every produced byte is checksummed.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

export function crc32c(data: Uint8Array, initial?: number): number {
  return initial === undefined ? nativeCrc32c(data) : nativeCrc32c(data, initial);
}
