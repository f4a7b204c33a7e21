/**
 * How a broker reaches the active controller (Kafka's NodeToControllerChannelManager): a
 * direct call when this node is the active controller, the cluster transport to the
 * active controller's voter address otherwise. NOT_CONTROLLER answers, unreachable peers
 * and an unknown leader are retried with growing backoff until the call's deadline, then
 * the call rejects with NOT_CONTROLLER (41) or REQUEST_TIMED_OUT (7).
 */
import {
  KafkaError, type ClusterRpcRequest, type ClusterRpcResponse, type ClusterTransport, type Logger, type PeerAddress,
} from '@sluice/sdk';
import type { Clock } from '../clock.js';
import type { ControllerRpcName } from './controller.js';
import { controllerError, ControllerErrorCode } from './controller-errors.js';
import type { Scheduler } from './scheduler.js';

/** A call keeps retrying this long unless it says otherwise (Kafka's request.timeout.ms). */
export const CONTROLLER_CALL_TIMEOUT_MS_DEFAULT = 30_000;
/** First pause after a failed attempt; doubles per attempt (retry.backoff.ms). */
export const CONTROLLER_RETRY_BACKOFF_MS = 100;
/** Longest pause between attempts (retry.backoff.max.ms). */
export const CONTROLLER_RETRY_BACKOFF_MAX_MS = 1000;

export interface ControllerChannelOptions {
  readonly nodeId: number;
  /** BrokerConfig.quorumVoters (controller.quorum.voters); empty on a single node, whose only voter is itself. */
  readonly voters: readonly PeerAddress[];
  /** Where a controller is reached as the voter set records it (a voter added at run time is not in `voters`, KIP-853); `voters` when undefined. */
  readonly voterAddress?: (nodeId: number) => PeerAddress | undefined;
  /** The quorum's view of the active controller (null: unknown). */
  readonly activeControllerId: () => number | null;
  /** The local controller when this node is a voter. */
  readonly localController?: { handle<K extends ControllerRpcName>(rpc: K, request: ClusterRpcRequest<K>): Promise<ClusterRpcResponse<K>> };
  /** Read per call: the `cluster.transport` provider is a plugin that starts after the kernel. */
  readonly transport: () => ClusterTransport | undefined;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly log: Logger;
}

export class ControllerChannel {
  /** Voter to try next when the leader is unknown or did not answer. */
  private nextVoter = 0;

  constructor(private readonly opts: ControllerChannelOptions) {}

  async call<K extends ControllerRpcName>(
    rpc: K, request: ClusterRpcRequest<K>, timeoutMs = CONTROLLER_CALL_TIMEOUT_MS_DEFAULT,
  ): Promise<ClusterRpcResponse<K>> {
    const { clock } = this.opts;
    const deadline = clock.nowMs() + timeoutMs;
    let notController = false;
    let lastFailed = -1;
    for (let attempt = 0; ; attempt++) {
      const target = this.target(lastFailed);
      const local = target === this.opts.nodeId && this.opts.localController !== undefined;
      try {
        const response = await this.attempt(target, rpc, request, Math.max(1, deadline - clock.nowMs()));
        if (!isNotController(response)) return response;
        notController = true;
      } catch (err) {
        // Local failures other than NOT_CONTROLLER are bugs; a peer failing is a reason to try again.
        if (local && !(KafkaError.is(err) && err.code === ControllerErrorCode.NOT_CONTROLLER)) throw err;
        notController = KafkaError.is(err) && err.code === ControllerErrorCode.NOT_CONTROLLER;
        this.opts.log.debug(`${rpc} to controller ${target} failed`, { err: String(err) });
      }
      lastFailed = target;
      const backoff = Math.min(CONTROLLER_RETRY_BACKOFF_MAX_MS, CONTROLLER_RETRY_BACKOFF_MS * 2 ** attempt);
      if (clock.nowMs() + backoff >= deadline) {
        throw notController
          ? controllerError('NOT_CONTROLLER', `${rpc}: no active controller answered within ${timeoutMs} ms`)
          : controllerError('REQUEST_TIMED_OUT', `${rpc}: the controller did not answer within ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => this.opts.scheduler.schedule(backoff, resolve));
    }
  }

  private attempt<K extends ControllerRpcName>(
    target: number, rpc: K, request: ClusterRpcRequest<K>, timeoutMs: number,
  ): Promise<ClusterRpcResponse<K>> {
    if (target === this.opts.nodeId && this.opts.localController !== undefined) return this.opts.localController.handle(rpc, request);
    const peer = this.opts.voterAddress?.(target) ?? this.opts.voters.find((v) => v.nodeId === target);
    if (peer === undefined) return Promise.reject(controllerError('NOT_CONTROLLER', `controller ${target} is not a known voter`));
    const transport = this.opts.transport();
    if (transport === undefined) return Promise.reject(new Error('no cluster.transport provider (yet)'));
    return transport.call(peer, rpc, request, timeoutMs);
  }

  /** The active controller if known and not the one that just failed; else the voters in turn. */
  private target(lastFailed: number): number {
    const active = this.opts.activeControllerId();
    if (active !== null && active >= 0 && active !== lastFailed) return active;
    const voters = this.opts.voters.length > 0 ? this.opts.voters.map((v) => v.nodeId) : [this.opts.nodeId];
    let target = voters[this.nextVoter++ % voters.length]!;
    if (target === lastFailed && voters.length > 1) target = voters[this.nextVoter++ % voters.length]!;
    return target;
  }
}

/** Responses carry NOT_CONTROLLER at the top, or on every topic for the topic RPCs. */
function isNotController(response: unknown): boolean {
  const r = response as { errorCode?: number; results?: ReadonlyArray<{ errorCode: number }> };
  if (r.errorCode === ControllerErrorCode.NOT_CONTROLLER) return true;
  return r.results !== undefined && r.errorCode === undefined && r.results.length > 0
    && r.results.every((x) => x.errorCode === ControllerErrorCode.NOT_CONTROLLER);
}
