/**
 * The broker side of registration (Kafka's BrokerLifecycleManager): registers with the
 * controller (a fresh random incarnation id per process), then heartbeats every
 * broker.heartbeat.interval.ms reporting the metadata high watermark it has applied, so the
 * controller unfences it once it has caught up and keeps its session alive. On SIGTERM,
 * `controlledShutdown` asks the controller to move its leaderships away first.
 *
 *   registering -> fenced -> running -> pending-shutdown -> shut-down
 *                    ^__________|  (fenced again by the controller; a stale epoch re-registers)
 */
import { randomBytes } from 'node:crypto';
import type {
  BrokerHeartbeatResponse, ClusterRpcRequest, ClusterRpcResponse, ListenerAddress, Logger,
} from '@sluice/sdk';
import type { Clock } from '../clock.js';
import type { ControllerRpcName } from './controller.js';
import { ControllerErrorCode } from './controller-errors.js';
import type { Scheduler } from './scheduler.js';

export type BrokerState = 'registering' | 'fenced' | 'running' | 'pending-shutdown' | 'shut-down';

const INCARNATION_ID_BYTES = 16;
/**
 * Heartbeat pace while waiting for shouldShutDown: the controller answers it once this
 * broker has applied the records moving its leaderships, which takes one round trip, not a
 * heartbeat interval, so SIGTERM is not held up by it.
 */
const CONTROLLED_SHUTDOWN_POLL_MS = 100;
/** Heartbeat pace while fenced: the heartbeat that finds the broker caught up unfences it. */
export const FENCED_HEARTBEAT_INTERVAL_MS_MAX = 250;

export interface BrokerLifecycleOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  /** The node's advertised listeners, as clients and peers reach it. */
  readonly listeners: readonly ListenerAddress[];
  /** broker.rack; null when unset. */
  readonly rack: string | null;
  /** Usually a ControllerChannel. */
  readonly channel: {
    call<K extends ControllerRpcName>(rpc: K, request: ClusterRpcRequest<K>, timeoutMs?: number): Promise<ClusterRpcResponse<K>>;
  };
  /** The metadata high watermark this node has applied (MetadataQuorum.highWatermark). */
  readonly metadataOffset: () => number;
  /** broker.heartbeat.interval.ms */
  readonly heartbeatIntervalMs: number;
  /** How long one registration attempt may retry through the channel. */
  readonly registrationTimeoutMs: number;
  /** The epoch of this node's previous clean registration, if kept (KIP-966); -1 otherwise. */
  readonly previousBrokerEpoch?: number;
  /** Default: 16 random bytes. */
  readonly incarnationId?: Uint8Array;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly log: Logger;
}

export class BrokerLifecycle {
  readonly incarnationId: Uint8Array;
  private currentState: BrokerState = 'registering';
  private epoch = -1;
  private cancelNext: (() => void) | undefined;
  private inFlight = false;
  private closed = false;
  private readonly unfencedWaiters: Array<() => void> = [];
  private readonly shutDownWaiters: Array<() => void> = [];

  constructor(private readonly opts: BrokerLifecycleOptions) {
    this.incarnationId = opts.incarnationId ?? randomBytes(INCARNATION_ID_BYTES);
  }

  get state(): BrokerState {
    return this.currentState;
  }

  /** -1 until registered. */
  get brokerEpoch(): number {
    return this.epoch;
  }

  start(): void {
    this.next(0);
  }

  /** Resolves the first time the controller reports this broker unfenced. */
  whenUnfenced(): Promise<void> {
    if (this.currentState === 'running') return Promise.resolve();
    return new Promise((resolve) => this.unfencedWaiters.push(resolve));
  }

  /**
   * Heartbeats with wantShutDown until the controller answers shouldShutDown (its
   * leaderships have moved) or until `deadlineMs` (clock time) passes; resolves either way,
   * then stops heartbeating.
   */
  async controlledShutdown(deadlineMs: number): Promise<void> {
    if (this.currentState === 'shut-down' || this.closed) return;
    if (this.currentState === 'registering') {
      this.finish();
      return;
    }
    this.currentState = 'pending-shutdown';
    const done = new Promise<void>((resolve) => this.shutDownWaiters.push(resolve));
    const cancelDeadline = this.opts.scheduler.schedule(Math.max(0, deadlineMs - this.opts.clock.nowMs()), () => {
      this.opts.log.warn('controlled shutdown: the controller did not release this broker in time; stopping anyway');
      this.finish();
    });
    if (!this.inFlight) this.next(0);
    await done;
    cancelDeadline();
  }

  /** Stops heartbeating at once (the session then expires on the controller). */
  close(): void {
    this.closed = true;
    this.cancelNext?.();
  }

  private next(delayMs: number): void {
    this.cancelNext?.();
    if (this.closed || this.currentState === 'shut-down') return;
    this.cancelNext = this.opts.scheduler.schedule(delayMs, () => {
      this.cancelNext = undefined;
      void this.communicate();
    });
  }

  private async communicate(): Promise<void> {
    this.inFlight = true;
    try {
      if (this.currentState === 'registering') await this.register();
      else await this.heartbeat();
    } catch (err) {
      // The channel gave up (no controller within its deadline): try again on the next beat.
      this.opts.log.warn(`${this.currentState === 'registering' ? 'registration' : 'heartbeat'} failed`, { err: String(err) });
      this.next(this.opts.heartbeatIntervalMs);
    } finally {
      this.inFlight = false;
    }
  }

  private async register(): Promise<void> {
    const res = await this.opts.channel.call('controller.register-broker', {
      brokerId: this.opts.nodeId, clusterId: this.opts.clusterId, incarnationId: this.incarnationId,
      listeners: this.opts.listeners, rack: this.opts.rack, previousBrokerEpoch: this.opts.previousBrokerEpoch ?? -1,
    }, this.opts.registrationTimeoutMs);
    if (this.closed || this.currentState === 'shut-down') return;
    if (res.errorCode !== 0) {
      this.opts.log.warn(`registration refused with error ${res.errorCode}; retrying`, { errorCode: res.errorCode });
      this.next(this.opts.heartbeatIntervalMs);
      return;
    }
    this.epoch = res.brokerEpoch;
    if (this.currentState === 'registering') this.currentState = 'fenced';
    this.opts.log.info(`registered with the controller, broker epoch ${res.brokerEpoch}`, { brokerEpoch: res.brokerEpoch });
    this.next(0);
  }

  private async heartbeat(): Promise<void> {
    const shuttingDown = this.currentState === 'pending-shutdown';
    const res = await this.opts.channel.call('controller.heartbeat', {
      brokerId: this.opts.nodeId, brokerEpoch: this.epoch, currentMetadataOffset: this.opts.metadataOffset(),
      wantFence: false, wantShutDown: shuttingDown,
    }, this.opts.heartbeatIntervalMs);
    if (this.closed || this.currentState === 'shut-down') return;
    this.onHeartbeat(res);
  }

  private onHeartbeat(res: BrokerHeartbeatResponse): void {
    if (res.errorCode === ControllerErrorCode.STALE_BROKER_EPOCH || res.errorCode === ControllerErrorCode.BROKER_ID_NOT_REGISTERED) {
      this.opts.log.warn(`the controller no longer knows broker epoch ${this.epoch}; registering again`);
      if (this.currentState === 'pending-shutdown') {
        this.finish();
        return;
      }
      this.currentState = 'registering';
      this.next(0);
      return;
    }
    if (res.errorCode !== 0) {
      this.next(this.opts.heartbeatIntervalMs);
      return;
    }
    if (this.currentState === 'pending-shutdown') {
      if (res.shouldShutDown) this.finish();
      else this.next(Math.min(this.opts.heartbeatIntervalMs, CONTROLLED_SHUTDOWN_POLL_MS));
      return;
    }
    if (res.isFenced) {
      if (this.currentState === 'running') this.opts.log.warn('fenced by the controller');
      this.currentState = 'fenced';
      // Unfencing waits for a heartbeat that finds this broker caught up: with Kafka's 2 s
      // interval a (re)starting broker served nothing for up to 2 s after catching up.
      this.next(Math.min(this.opts.heartbeatIntervalMs, FENCED_HEARTBEAT_INTERVAL_MS_MAX));
      return;
    }
    if (this.currentState !== 'running') this.opts.log.info('unfenced: serving as a broker');
    this.currentState = 'running';
    for (const w of this.unfencedWaiters.splice(0)) w();
    this.next(this.opts.heartbeatIntervalMs);
  }

  private finish(): void {
    this.currentState = 'shut-down';
    this.cancelNext?.();
    for (const w of this.shutDownWaiters.splice(0)) w();
  }
}
