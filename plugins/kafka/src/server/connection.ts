/**
 * One client connection: frames in, responses out in request order.
 *
 * Ordering rule: requests are dispatched in arrival order, and a handler performs its
 * ordered side effects (appends) synchronously, before its first await; what it awaits
 * afterwards (durability, long polls) overlaps with the next requests. Responses are
 * written strictly in request order, as Kafka clients require.
 *
 * Bounds: a frame is at most `requestSizeBytesMax`; at most `inFlightRequestsMax`
 * requests per connection are being handled, and reading pauses while that many are
 * pending or while more than `writeBufferBytesMax` of responses wait for the socket.
 * A connection idle for `idleMsMax` is closed. Any error closes only this connection.
 */
import type { Socket } from 'node:net';
import type { Logger } from '@sluice/sdk';
import { FrameReader } from './frame-reader.js';

/** A whole response frame, its 4-byte size prefix included, in one or more chunks. */
export type ResponseParts = Uint8Array | readonly Uint8Array[];

export interface ConnectionInfo {
  /** What hooks see as the frontend that owns the connection. */
  readonly protocol: 'kafka';
  readonly id: number;
  readonly listener: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The address the client reached us on: what Metadata advertises when the listener's host is empty. */
  readonly localAddress: string;
}

/**
 * Handles one request frame (without its size prefix). Returns the response frame (size
 * prefix included) or null when the request gets no response (acks=0).
 * Throwing closes the connection.
 */
export type RequestHandler = (frame: Buffer, conn: ConnectionInfo) => ResponseParts | null | Promise<ResponseParts | null>;

export interface ConnectionLimits {
  readonly requestSizeBytesMax: number;
  readonly idleMsMax: number;
  readonly inFlightRequestsMax: number;
  readonly writeBufferBytesMax: number;
}

interface Slot {
  done: boolean;
  parts: ResponseParts | null;
}

export class Connection {
  private readonly reader: FrameReader;
  private readonly queue: Slot[] = [];
  private paused = false;
  private closed = false;
  private corked = false;

  constructor(
    private readonly socket: Socket,
    readonly info: ConnectionInfo,
    private readonly handler: RequestHandler,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    private readonly onClose: (conn: Connection, reason: string) => void,
  ) {
    this.reader = new FrameReader(limits.requestSizeBytesMax);
    socket.setNoDelay(true);
    if (Number.isFinite(limits.idleMsMax) && limits.idleMsMax > 0) {
      socket.setTimeout(Math.min(limits.idleMsMax, 2 ** 31 - 1), () => this.close('idle for connections.max.idle.ms'));
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err) => this.close(`socket error: ${err.message}`, 'debug'));
    socket.on('close', () => this.close('closed by peer', 'debug'));
  }

  get inFlight(): number {
    return this.queue.length;
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.close(`bad frame: ${(err as Error).message}`, 'warn');
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.dispatch(frame);
    }
    this.maybePause();
  }

  private dispatch(frame: Buffer): void {
    const slot: Slot = { done: false, parts: null };
    this.queue.push(slot);
    let result: ResponseParts | null | Promise<ResponseParts | null>;
    try {
      result = this.handler(frame, this.info);
    } catch (err) {
      this.close(`request failed: ${(err as Error).message}`, 'warn');
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (parts) => this.complete(slot, parts),
        (err: Error) => this.close(`request failed: ${err.message}`, 'warn'),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private complete(slot: Slot, parts: ResponseParts | null): void {
    if (this.closed) return;
    slot.done = true;
    slot.parts = parts;
    if (this.queue[0] !== slot) return;
    // One group commit releases every produce request it covered in the same turn, each
    // through its own promise chain and so its own call here. Uncorking at once cost a
    // write syscall (and a client wake-up) per response: ~6,000 writes/s for librdkafka's
    // small acks=all requests at 10,000 msgs/s. Uncorking on the next tick sends all the
    // responses completed in this turn as one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const next = this.queue.shift()!;
      if (next.parts !== null) this.write(next.parts);
    }
    this.maybeResume();
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private write(parts: ResponseParts): void {
    if (parts instanceof Uint8Array) {
      this.socket.write(parts);
      return;
    }
    for (const p of parts as readonly Uint8Array[]) this.socket.write(p);
  }

  private maybePause(): void {
    if (this.paused || this.closed) return;
    if (this.queue.length >= this.limits.inFlightRequestsMax || this.socket.writableLength > this.limits.writeBufferBytesMax) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.closed) return;
    if (this.queue.length < this.limits.inFlightRequestsMax && this.socket.writableLength <= this.limits.writeBufferBytesMax) {
      this.paused = false;
      this.socket.resume();
    }
  }

  close(reason: string, level: 'debug' | 'info' | 'warn' = 'info'): void {
    if (this.closed) return;
    this.closed = true;
    this.log[level]('connection closed', {
      connection: this.info.id, client: `${this.info.remoteAddress}:${this.info.remotePort}`, reason,
    });
    this.queue.length = 0;
    this.socket.destroy();
    this.onClose(this, reason);
  }
}
