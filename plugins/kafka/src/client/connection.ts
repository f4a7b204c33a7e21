/**
 * One client connection speaking the Kafka protocol: request frames out, response frames in,
 * shared by the console tools (cli/client.ts) and the cluster transport (cluster/transport.ts).
 *
 * Requests are pipelined; Kafka answers a connection's requests in the order they were
 * sent, so responses are matched to a FIFO of pending requests and each one's correlation id
 * is checked. A request whose `timeoutMs` runs out is rejected but stays in the FIFO,
 * abandoned: its answer may still come and must be consumed for the ones behind it to
 * match. The connection itself fails (every pending request rejected, the socket destroyed)
 * only when it is broken: a socket error or close, a frame too large, a response that does
 * not decode or does not match, or an abandoned request still unanswered `lateAnswerMsMax`
 * after its timeout. That last rule is for a peer that went silent without closing (a
 * network partition): TCP may take minutes to notice, and everything behind the silent
 * request waits with it, since answers come in order.
 */
import { connect, type Socket } from 'node:net';
import {
  encodeRequest, readResponseFrame, type Decoded, type KnownApiKey, type RequestOf, type ResponseOf,
} from '../protocol/index.js';

export interface ConnectionOptions {
  /** The client id sent in every request header. */
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  /** A larger response frame is a broken connection. */
  readonly responseBytesMax: number;
  /** How long past its timeout the answer to an abandoned request may still come before the connection counts as broken. */
  readonly lateAnswerMsMax: number;
}

/** A request not answered within its timeout; the connection is still usable. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
}

interface Pending {
  readonly correlationId: number;
  readonly apiKey: KnownApiKey;
  readonly version: number;
  readonly resolve: (body: unknown) => void;
  readonly reject: (e: Error) => void;
  /** The request's timeout, then once abandoned the late-answer bound. */
  timer: NodeJS.Timeout | undefined;
  /** Rejected on timeout; its answer is read and dropped. */
  abandoned: boolean;
}

export class KafkaConnection {
  private readonly pending: Pending[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private nextCorrelationId = 1;
  private failure: Error | undefined;
  private readonly closeListeners: Array<(error: Error) => void> = [];

  private constructor(
    /** `host:port`, for messages. */
    readonly address: string,
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new Error(`connection to ${address} failed: ${e.message}`)));
    socket.on('close', () => this.fail(new Error(`connection to ${address} closed by the broker`)));
  }

  static async open(host: string, port: number, options: ConnectionOptions): Promise<KafkaConnection> {
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`cannot connect to ${address}: no answer within ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${address}: ${e.message}`));
      });
    });
    return new KafkaConnection(address, socket, options);
  }

  /** Set once the connection failed or was closed: no request can be sent any more. */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  /** Requests sent and not answered yet, abandoned ones included (they still hold the peer's attention). */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Called once, with the reason, when the connection fails or is closed. */
  onClose(listener: (error: Error) => void): void {
    if (this.failure !== undefined) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  send<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>, timeoutMs: number): Promise<Decoded<ResponseOf<K>>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequest(apiKey, version, correlationId, this.options.clientId, body);
    return new Promise((resolve, reject) => {
      const p: Pending = { correlationId, apiKey, version, resolve: resolve as (b: unknown) => void, reject, timer: undefined, abandoned: false };
      p.timer = setTimeout(() => {
        p.abandoned = true;
        p.timer = setTimeout(() => this.fail(new Error(
          `no answer from ${this.address} within ${timeoutMs + this.options.lateAnswerMsMax} ms: connection considered broken`)),
        this.options.lateAnswerMsMax);
        reject(new RequestTimeoutError(`no answer from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push(p);
      this.socket.write(frame);
    });
  }

  /** For requests the broker does not answer (Produce with acks=0): resolves once written. */
  sendUnanswered<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const frame = encodeRequest(apiKey, version, this.nextCorrelationId++, this.options.clientId, body);
    return new Promise((resolve, reject) => {
      this.socket.write(frame, (e) => (e ? reject(new Error(`connection to ${this.address} failed: ${e.message}`)) : resolve()));
    });
  }

  close(): void {
    this.fail(new Error(`connection to ${this.address} closed`));
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      if (this.chunks[0]!.length < 4) this.merge();
      const size = this.chunks[0]!.readInt32BE(0);
      if (size < 0 || size > this.options.responseBytesMax) {
        this.fail(new Error(`${this.address} sent a response frame of ${size} bytes`));
        return;
      }
      if (this.buffered < 4 + size) return;
      this.merge();
      const all = this.chunks[0]!;
      this.chunks = all.length > 4 + size ? [all.subarray(4 + size)] : [];
      this.buffered = all.length - 4 - size;
      this.deliver(all.subarray(4, 4 + size));
      if (this.failure !== undefined) return;
    }
  }

  private merge(): void {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
  }

  private deliver(frame: Buffer): void {
    const next = this.pending.shift();
    if (next === undefined) {
      this.fail(new Error(`${this.address} sent a response to no request`));
      return;
    }
    if (next.timer !== undefined) clearTimeout(next.timer);
    try {
      const { correlationId, body } = readResponseFrame(frame, next.apiKey, next.version);
      if (correlationId !== next.correlationId) {
        throw new Error(`expected correlation id ${next.correlationId}, got ${correlationId}`);
      }
      if (!next.abandoned) next.resolve(body);
    } catch (e) {
      const error = new Error(`${this.address} sent a response that does not decode: ${(e as Error).message}`);
      if (!next.abandoned) next.reject(error);
      this.fail(error);
    }
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      if (!p.abandoned) p.reject(error);
    }
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}
