/**
 * A bare Kafka connection for the tests that need bytes no client library sends: frames
 * written by hand, responses read whole, and the moment the broker closes the socket.
 */
import { connect, type Socket } from 'node:net';
import { encodeRequest, readResponseFrame, type KnownApiKey, type RequestOf, type ResponseOf } from '../src/protocol/index.js';
import type { Decoded } from '../src/protocol/reader.js';

export interface RawConnection {
  readonly socket: Socket;
  /** Resolves with the next response frame (without its size prefix), or null once the broker closed the connection. */
  next(): Promise<Buffer | null>;
  /** Resolves when the broker has closed the connection. */
  readonly closed: Promise<void>;
  write(bytes: Buffer): void;
  /** Sends one request built with our codecs and decodes its answer, checking the correlation id. */
  request<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>): Promise<Decoded<ResponseOf<K>>>;
  close(): void;
}

export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((ok, fail) => {
    socket.once('connect', ok);
    socket.once('error', fail);
  });
  let buffered = Buffer.alloc(0);
  const frames: Buffer[] = [];
  const waiting: Array<(frame: Buffer | null) => void> = [];
  let ended = false;
  const closed = new Promise<void>((ok) => socket.once('close', () => {
    ended = true;
    for (const w of waiting.splice(0)) w(null);
    ok();
  }));
  // A reset from the broker is how some closes arrive; 'close' follows it.
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
      buffered = buffered.subarray(4 + frame.length);
      const w = waiting.shift();
      if (w !== undefined) w(frame);
      else frames.push(frame);
    }
  });
  const next = (): Promise<Buffer | null> => {
    const f = frames.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (ended) return Promise.resolve(null);
    return new Promise((ok) => waiting.push(ok));
  };
  let correlation = 0;
  return {
    socket,
    closed,
    next,
    write: (bytes) => socket.write(bytes),
    request: async (apiKey, version, body) => {
      const id = ++correlation;
      socket.write(encodeRequest(apiKey, version, id, 'sluice-it-raw', body));
      const frame = await next();
      if (frame === null) throw new Error('the broker closed the connection');
      const r = readResponseFrame(frame, apiKey, version);
      if (r.correlationId !== id) throw new Error(`correlation id ${r.correlationId}, expected ${id}`);
      return r.body;
    },
    close: () => socket.destroy(),
  };
}

export function sized(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/**
 * An ApiVersions request frame. v0-2 use request header v1; v3 and later are flexible
 * (header v2 and a v3 body: client software name and version, then empty tagged fields).
 */
export function apiVersionsRequest(version: number, correlationId: number): Buffer {
  const clientId = Buffer.from('sluice-it-raw');
  const header = Buffer.alloc(10);
  header.writeInt16BE(18, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  if (version < 3) return sized(Buffer.concat([header, clientId]));
  const compact = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s) + 1]), Buffer.from(s)]);
  return sized(Buffer.concat([header, clientId, Buffer.from([0]), compact('sluice-it'), compact('1.0'), Buffer.from([0])]));
}

export interface ApiVersionsV0 {
  correlationId: number;
  errorCode: number;
  apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }>;
}

/** Parses an ApiVersions v0 response (header v0): what v0-2 requests get, and the fallback for unsupported versions. */
export function parseApiVersionsV0(frame: Buffer): ApiVersionsV0 {
  const count = frame.readInt32BE(6);
  const apiKeys = Array.from({ length: count }, (_, i) => ({
    apiKey: frame.readInt16BE(10 + i * 6), minVersion: frame.readInt16BE(12 + i * 6), maxVersion: frame.readInt16BE(14 + i * 6),
  }));
  return { correlationId: frame.readInt32BE(0), errorCode: frame.readInt16BE(4), apiKeys };
}

/** The API versions a broker advertises, asked at v0. */
export async function advertisedApis(port: number): Promise<ApiVersionsV0['apiKeys']> {
  const conn = await rawConnect(port);
  try {
    conn.write(apiVersionsRequest(0, 1));
    const frame = await conn.next();
    if (frame === null) throw new Error('the broker closed the connection instead of answering ApiVersions v0');
    return parseApiVersionsV0(frame).apiKeys;
  } finally {
    conn.close();
  }
}
