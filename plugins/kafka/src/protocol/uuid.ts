/**
 * Kafka uuids travel as 16 raw bytes and are shown as 22-character unpadded base64url
 * (`Uuid.toString()` in Kafka). The codecs keep the bytes; these helpers convert at the edges.
 */

/** The all-zero uuid Kafka uses for "no topic id"; shared, never write into it. */
export const ZERO_UUID: Uint8Array = new Uint8Array(16);

export function uuidToString(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64url');
}

export function uuidFromString(s: string): Uint8Array {
  const u = Buffer.from(s, 'base64url');
  if (u.length !== 16 || s.length !== 22) throw new RangeError(`not a Kafka uuid: ${JSON.stringify(s)}`);
  return u;
}

export function uuidEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== 16 || b.length !== 16) return false;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isZeroUuid(u: Uint8Array): boolean {
  for (let i = 0; i < u.length; i++) if (u[i] !== 0) return false;
  return true;
}
