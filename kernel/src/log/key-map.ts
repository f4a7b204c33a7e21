/**
 * The cleaner's key -> latest offset map, in a fixed amount of memory
 * (`log.cleaner.dedupe.buffer.size`), as Kafka's SkimpyOffsetMap.
 *
 * Layout: one buffer of 24-byte slots, open addressing with linear probing:
 *   MD5 digest of the key  16 bytes
 *   offset + 1             float64 (0 marks an empty slot; offsets stay below 2^53)
 *
 * Keys are identified by their digest only: two keys colliding on 128 bits would make
 * the cleaner drop the older one's record, a risk Kafka accepts with the same hash.
 * The map accepts new keys up to a 0.75 load factor (`capacity`), where linear probing
 * still averages under ten probes for a missing key; a full map keeps updating the keys
 * it holds but refuses new ones, and the cleaner then stops its round at that offset.
 */
import { createHash } from 'node:crypto';

const SLOT_BYTES = 24;
const DIGEST_BYTES = 16;
const LOAD_FACTOR = 0.75;

export class KeyOffsetMap {
  private readonly table: Buffer;
  private readonly slots: number;
  readonly capacity: number;
  private count = 0;

  constructor(bytesMax: number) {
    this.slots = Math.floor(bytesMax / SLOT_BYTES);
    this.capacity = Math.floor(this.slots * LOAD_FACTOR);
    if (this.capacity < 1) throw new RangeError(`a key map of ${bytesMax} bytes cannot hold a key`);
    this.table = Buffer.alloc(this.slots * SLOT_BYTES);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    if (this.count === 0) return;
    this.table.fill(0);
    this.count = 0;
  }

  /** Records `offset` as the key's latest; false when the key is new and the map is full. */
  put(key: Uint8Array, offset: number): boolean {
    const digest = digestOf(key);
    const slot = this.find(digest);
    const at = slot * SLOT_BYTES;
    if (this.table.readDoubleLE(at + DIGEST_BYTES) === 0) {
      if (this.count >= this.capacity) return false;
      digest.copy(this.table, at);
      this.count++;
    }
    this.table.writeDoubleLE(offset + 1, at + DIGEST_BYTES);
    return true;
  }

  /** The latest offset recorded for the key, or -1. */
  get(key: Uint8Array): number {
    const at = this.find(digestOf(key)) * SLOT_BYTES;
    return this.table.readDoubleLE(at + DIGEST_BYTES) - 1;
  }

  /** The key's slot, or the empty slot where it would go; the load factor guarantees one. */
  private find(digest: Buffer): number {
    const d0 = digest.readUInt32BE(0);
    const d1 = digest.readUInt32BE(4);
    const d2 = digest.readUInt32BE(8);
    const d3 = digest.readUInt32BE(12);
    let slot = d0 % this.slots;
    for (;;) {
      const at = slot * SLOT_BYTES;
      if (this.table.readDoubleLE(at + DIGEST_BYTES) === 0) return slot;
      if (this.table.readUInt32BE(at) === d0 && this.table.readUInt32BE(at + 4) === d1
        && this.table.readUInt32BE(at + 8) === d2 && this.table.readUInt32BE(at + 12) === d3) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }
}

function digestOf(key: Uint8Array): Buffer {
  return createHash('md5').update(key).digest();
}
