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
 *
 * Timing: a handler that sets `exchange.timing` hears (through `onTimed`) when its
 * response was written: the socket's write callback of the response's last chunk. Write
 * callbacks come in write order, so one callback per connection and a queue of the
 * timings in flight stand for a closure per response. A request that fails is reported at
 * once; one whose response never reached the socket because the connection closed is not.
 */
import type { Socket } from 'node:net';
import type { Logger } from '@sluice/sdk';
import { FrameReader } from './frame-reader.js';
import type { RequestTiming } from './request-timing.js';

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
  /** Aborted when the connection closes: ends work done only for this client (a replica's long poll). */
  readonly closed: AbortSignal;
}

/** One request as the connection tracks it, seen by its handler. */
export interface Exchange {
  /** `performance.now()` when the request's frame was fully read. */
  readonly receivedMs: number;
  /** Set by a handler that wants the request's times reported. */
  timing: RequestTiming | null;
}

/**
 * Handles one request frame (without its size prefix). Returns the response frame (size
 * prefix included) or null when the request gets no response (acks=0).
 * Throwing closes the connection.
 */
export type RequestHandler = (frame: Buffer, conn: ConnectionInfo, exchange: Exchange) =>
  ResponseParts | null | Promise<ResponseParts | null>;

export interface ConnectionLimits {
  readonly requestSizeBytesMax: number;
  readonly idleMsMax: number;
  readonly inFlightRequestsMax: number;
  readonly writeBufferBytesMax: number;
}

interface Slot extends Exchange {
  done: boolean;
  parts: ResponseParts | null;
}

export class Connection {
  private readonly reader: FrameReader;
  private readonly queue: Slot[] = [];
  /** Timings of responses handed to the socket, in write order, until their write callback. */
  private readonly sending: RequestTiming[] = [];
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
    private readonly onTimed: (timing: RequestTiming) => void = () => undefined,
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
    const receivedMs = performance.now();
    for (const frame of frames) {
      if (this.closed) return;
      this.dispatch(frame, receivedMs);
    }
    this.maybePause();
  }

  private dispatch(frame: Buffer, receivedMs: number): void {
    const slot: Slot = { done: false, parts: null, receivedMs, timing: null };
    this.queue.push(slot);
    let result: ResponseParts | null | Promise<ResponseParts | null>;
    try {
      result = this.handler(frame, this.info, slot);
    } catch (err) {
      this.fail(slot, err as Error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (parts) => this.complete(slot, parts),
        (err: Error) => this.fail(slot, err),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private fail(slot: Slot, err: Error): void {
    if (this.closed) return;
    if (slot.timing !== null) {
      slot.timing.failedAt(performance.now());
      this.onTimed(slot.timing);
    }
    this.close(`request failed: ${err.message}`, 'warn');
  }

  private complete(slot: Slot, parts: ResponseParts | null): void {
    if (this.closed) return;
    slot.done = true;
    slot.parts = parts;
    slot.timing?.ready(performance.now());
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
      if (next.parts !== null) {
        this.write(next.parts, next.timing);
      } else if (next.timing !== null) {
        next.timing.written(performance.now());
        this.onTimed(next.timing);
      }
    }
    this.maybeResume();
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private write(parts: ResponseParts, timing: RequestTiming | null): void {
    const chunks = parts as readonly Uint8Array[];
    const last = parts instanceof Uint8Array ? parts : chunks[chunks.length - 1]!;
    if (!(parts instanceof Uint8Array)) {
      for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!);
    }
    if (timing === null) {
      this.socket.write(last);
      return;
    }
    this.sending.push(timing);
    this.socket.write(last, this.written);
  }

  private readonly written = (err?: Error | null): void => {
    if (this.closed) return;
    const timing = this.sending.shift()!;
    if (err !== undefined && err !== null) return;
    timing.written(performance.now());
    this.onTimed(timing);
  };

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
    this.sending.length = 0;
    this.socket.destroy();
    this.onClose(this, reason);
  }
}
