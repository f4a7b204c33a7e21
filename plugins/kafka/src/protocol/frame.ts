/**
 * Whole frames: the request or response header chosen by API key and version, then the body.
 * A frame on the socket is an int32 size followed by that many bytes; `readRequestFrame`
 * takes the bytes after the size, the encoders return the size prefix included.
 */

import { ProtocolError, Reader, type Decoded } from './reader.js';
import { Writer } from './writer.js';
import { requestHeaderVersion, responseHeaderVersion } from './generated/api-keys.js';
import { requestCodecs, responseCodecs } from './generated/codecs.js';
import { decodeRequestHeader, sizeOfRequestHeader, writeRequestHeader, type RequestHeader } from './generated/request-header.js';
import { decodeResponseHeader, sizeOfResponseHeader, writeResponseHeader } from './generated/response-header.js';

export type RequestCodecs = typeof requestCodecs;
export type ResponseCodecs = typeof responseCodecs;
export type KnownApiKey = keyof RequestCodecs;
export type RequestOf<K extends KnownApiKey> = Parameters<RequestCodecs[K]['sizeOf']>[0];
export type ResponseOf<K extends KnownApiKey> = Parameters<ResponseCodecs[K]['sizeOf']>[0];

/** What every body codec offers; `recordsBytes` only where the message carries records. */
export interface Codec<T> {
  readonly name: string;
  readonly decode: (r: Reader, v: number) => Decoded<T>;
  readonly sizeOf: (m: T, v: number) => number;
  readonly write: (w: Writer, m: T, v: number) => void;
  readonly recordsBytes?: (m: T, v: number) => number;
}

export function isKnownApiKey(apiKey: number): apiKey is KnownApiKey {
  return Object.hasOwn(requestCodecs, apiKey);
}

export function requestCodec<K extends KnownApiKey>(apiKey: K): Codec<RequestOf<K>> {
  return requestCodecs[apiKey] as unknown as Codec<RequestOf<K>>;
}

export function responseCodec<K extends KnownApiKey>(apiKey: K): Codec<ResponseOf<K>> {
  return responseCodecs[apiKey] as unknown as Codec<ResponseOf<K>>;
}

export interface RequestFrame {
  readonly header: Decoded<RequestHeader>;
  readonly headerVersion: number;
  /** Positioned at the body; its `end` is the end of the frame. */
  readonly body: Reader;
}

/**
 * Decodes the header of a request frame (without its size prefix). The header version follows
 * from the API key and version, also for versions above the supported ones, so an
 * UNSUPPORTED_VERSION answer can still carry the correlation id. An unknown API key is a
 * ProtocolError: Kafka closes such connections.
 */
export function readRequestFrame(frame: Buffer): RequestFrame {
  const r = new Reader(frame);
  if (frame.length < 4) throw new ProtocolError(`request frame of ${frame.length} bytes has no header`);
  const apiKey = frame.readInt16BE(0);
  const headerVersion = requestHeaderVersion(apiKey, frame.readInt16BE(2));
  if (headerVersion < 0) throw new ProtocolError(`unknown API key ${apiKey}`);
  const header = decodeRequestHeader(r, headerVersion);
  return { header, headerVersion, body: r };
}

/** Decodes a request body and insists that it fills the frame. */
export function decodeRequestBody<K extends KnownApiKey>(apiKey: K, version: number, body: Reader): Decoded<RequestOf<K>> {
  const m = requestCodec(apiKey).decode(body, version);
  body.expectEnd();
  return m;
}

/** Decodes a response frame (without its size prefix) to a request sent with `apiKey`/`version`. */
export function readResponseFrame<K extends KnownApiKey>(
  frame: Buffer,
  apiKey: K,
  version: number,
): { correlationId: number; body: Decoded<ResponseOf<K>> } {
  const r = new Reader(frame);
  const { correlationId } = decodeResponseHeader(r, responseHeaderVersion(apiKey, version));
  const body = responseCodec(apiKey).decode(r, version);
  r.expectEnd();
  return { correlationId, body };
}

/** A request frame, size prefix included (for tests and broker-to-broker clients). */
export function encodeRequest<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: RequestOf<K>,
): Buffer {
  const codec = requestCodec(apiKey);
  const hv = requestHeaderVersion(apiKey, version);
  const header = { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId };
  const size = sizeOfRequestHeader(header, hv) + codec.sizeOf(body, version);
  const w = new Writer(Buffer.allocUnsafe(4 + size));
  w.int32(size);
  writeRequestHeader(w, header, hv);
  codec.write(w, body, version);
  return w.finish();
}

function responseHead(apiKey: KnownApiKey, version: number, correlationId: number): { hv: number; header: { correlationId: number } } {
  return { hv: responseHeaderVersion(apiKey, version), header: { correlationId } };
}

/** A response frame in one buffer, size prefix included. */
export function encodeResponse<K extends KnownApiKey>(apiKey: K, version: number, correlationId: number, body: ResponseOf<K>): Buffer {
  const codec = responseCodec(apiKey);
  const { hv, header } = responseHead(apiKey, version, correlationId);
  const size = sizeOfResponseHeader(header, hv) + codec.sizeOf(body, version);
  const w = new Writer(Buffer.allocUnsafe(4 + size));
  w.int32(size);
  writeResponseHeader(w, header, hv);
  codec.write(w, body, version);
  return w.finish();
}

/**
 * A response frame as chunks for a vectored write (`socket.cork()`, one `write` per chunk,
 * `uncork()`): size prefix, header and every field go into one buffer sized without the
 * record bytes, and each non-empty `records` value (Fetch, ShareFetch, FetchSnapshot) is
 * passed through as its own chunk, uncopied. The record buffers must stay untouched until the
 * socket has written them. Messages without records come back as a single chunk.
 */
export function encodeResponseChunks<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  correlationId: number,
  body: ResponseOf<K>,
): Uint8Array[] {
  const codec = responseCodec(apiKey);
  if (codec.recordsBytes === undefined) return [encodeResponse(apiKey, version, correlationId, body)];
  const { hv, header } = responseHead(apiKey, version, correlationId);
  const size = sizeOfResponseHeader(header, hv) + codec.sizeOf(body, version);
  const w = Writer.chunked(4 + size - codec.recordsBytes(body, version));
  w.int32(size);
  writeResponseHeader(w, header, hv);
  codec.write(w, body, version);
  return w.finishChunks();
}
