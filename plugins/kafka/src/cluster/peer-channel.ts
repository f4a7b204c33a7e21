/**
 * One lazily opened Kafka connection to a peer node, kept across calls and reopened when it
 * breaks. After a failed connect, the next attempt waits a backoff that doubles per
 * consecutive failure from `reconnectBackoffMsMin` to `reconnectBackoffMsMax` (as Kafka's
 * reconnect.backoff.ms / reconnect.backoff.max.ms); a call arriving meanwhile waits for it
 * when its own deadline allows, and is rejected at once otherwise. At most
 * `inFlightRequestsMax` calls are in progress at a time; more wait for a slot, within their
 * deadline. A call that times out is rejected and frees its slot but keeps the connection,
 * unless its answer is later than `lateAnswerMsMax` too (see client/connection.ts); only
 * a broken connection is dropped.
 */
import type { Logger } from '@sluice/sdk';
import { KafkaConnection, RequestTimeoutError } from '../client/connection.js';
import type { Decoded, KnownApiKey, RequestOf, ResponseOf } from '../protocol/index.js';
import { CLUSTER_CLIENT_ID } from './controller-wire.js';

export interface PeerChannelLimits {
  readonly connectTimeoutMsMax: number;
  readonly reconnectBackoffMsMin: number;
  readonly reconnectBackoffMsMax: number;
  readonly inFlightRequestsMax: number;
  readonly responseBytesMax: number;
  /** See client/connection.ts: how late an abandoned request may be answered before the connection is dropped. */
  readonly lateAnswerMsMax: number;
}

interface SlotWaiter {
  readonly grant: () => void;
}

export class PeerChannel {
  private connection: Promise<KafkaConnection> | undefined;
  private failures = 0;
  /** `performance.now()` before which no connect is attempted. */
  private retryAtMs = 0;
  private inFlight = 0;
  private readonly waiting: SlotWaiter[] = [];
  private closed = false;
  /** Aborted by close: wakes calls waiting for a slot or a reconnect. */
  private readonly closing = new AbortController();

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly limits: PeerChannelLimits,
    private readonly log: Logger,
  ) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Sends one request and resolves with its answer; rejects when not answered within `timeoutMs`, waits included. */
  async send<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>, timeoutMs: number): Promise<Decoded<ResponseOf<K>>> {
    const deadlineMs = performance.now() + timeoutMs;
    await this.slot(deadlineMs);
    try {
      const connection = await this.connected(deadlineMs);
      const remainingMs = Math.max(1, Math.ceil(deadlineMs - performance.now()));
      return await connection.send(apiKey, version, body, remainingMs);
    } catch (err) {
      // The connection only knows the time left after connecting; the caller gave the whole call's.
      if (err instanceof RequestTimeoutError) throw new RequestTimeoutError(`no answer from ${this.address} within ${timeoutMs} ms`);
      throw err;
    } finally {
      this.release();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    const connection = this.connection;
    this.connection = undefined;
    connection?.then((c) => c.close(), () => undefined);
  }

  private slot(deadlineMs: number): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.inFlight < this.limits.inFlightRequestsMax) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: SlotWaiter = {
        grant: () => {
          cleanup();
          resolve();
        },
      };
      const give = (error: Error): void => {
        cleanup();
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(error);
      };
      const timer = setTimeout(() => give(new Error(
        `${this.address}: ${this.limits.inFlightRequestsMax} requests in flight, no slot within the call's timeout`)), Math.max(0, deadlineMs - performance.now()));
      const onClose = (): void => give(this.closedError());
      const cleanup = (): void => {
        clearTimeout(timer);
        this.closing.signal.removeEventListener('abort', onClose);
      };
      this.closing.signal.addEventListener('abort', onClose, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Hands the slot to the next waiter, if any. */
  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.grant();
    else this.inFlight--;
  }

  private async connected(deadlineMs: number): Promise<KafkaConnection> {
    for (;;) {
      if (this.closed) throw this.closedError();
      const current = this.connection;
      if (current !== undefined) {
        const c = await current.catch(() => undefined);
        if (c !== undefined && !c.broken) return c;
        // Broken or failed to open: whoever sees it first drops it (unless replaced meanwhile).
        if (this.connection === current) this.connection = undefined;
        if (c === undefined) continue;
      }
      const waitMs = this.retryAtMs - performance.now();
      if (waitMs > 0) {
        if (performance.now() + waitMs >= deadlineMs) {
          throw new Error(`${this.address} unreachable (${this.failures} failed connects), next attempt in ${Math.ceil(waitMs)} ms`);
        }
        await this.pause(waitMs);
        continue;
      }
      const opening = this.open(deadlineMs);
      this.connection = opening;
      return opening;
    }
  }

  private async open(deadlineMs: number): Promise<KafkaConnection> {
    const timeoutMs = Math.max(1, Math.min(this.limits.connectTimeoutMsMax, Math.ceil(deadlineMs - performance.now())));
    try {
      const c = await KafkaConnection.open(this.host, this.port, {
        clientId: CLUSTER_CLIENT_ID, connectTimeoutMs: timeoutMs, responseBytesMax: this.limits.responseBytesMax,
        lateAnswerMsMax: this.limits.lateAnswerMsMax,
      });
      if (this.closed) {
        c.close();
        throw this.closedError();
      }
      if (this.failures > 0) this.log.info('cluster peer reachable again', { peer: this.address, failedConnects: this.failures });
      this.failures = 0;
      c.onClose((error) => this.log.debug('cluster peer connection closed', { peer: this.address, reason: error.message }));
      return c;
    } catch (err) {
      this.failures++;
      const backoffMs = Math.min(this.limits.reconnectBackoffMsMax, this.limits.reconnectBackoffMsMin * 2 ** (this.failures - 1));
      this.retryAtMs = performance.now() + backoffMs;
      if (this.failures === 1) this.log.warn('cluster peer unreachable', { peer: this.address, error: (err as Error).message });
      throw err;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.closing.signal.addEventListener('abort', done, { once: true });
    });
  }

  private closedError(): Error {
    return new Error(`cluster transport to ${this.address} is closed`);
  }
}
