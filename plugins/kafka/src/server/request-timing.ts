/**
 * One request's times, split as Kafka's RequestMetrics split them, for `request.completed`.
 * The connection stamps when the frame was read, when the response was ready and when the
 * socket took it; the dispatcher names the API and stamps when the handler started. The
 * object is the hook's input itself, filled in as the request goes, so timing a request
 * allocates no more than reporting it did before. Times are `performance.now()` ms.
 */
import type { ConnectionDescription, RequestCompleted } from '@sluice/sdk';

export class RequestTiming implements RequestCompleted {
  durationMs = 0;
  requestQueueMs = 0;
  localMs = 0;
  responseSendMs = 0;
  failed = false;
  private startedMs = Number.NaN;
  private readyMs = Number.NaN;

  constructor(
    readonly connection: ConnectionDescription,
    readonly apiKey: number,
    readonly apiName: string,
    readonly apiVersion: number,
    private readonly receivedMs: number,
  ) {}

  /** The handler starts. */
  started(nowMs: number): void {
    this.startedMs = nowMs;
    this.requestQueueMs = nowMs - this.receivedMs;
  }

  /** The response is encoded (or the handler answered that there is none). */
  ready(nowMs: number): void {
    this.readyMs = nowMs;
    this.localMs = nowMs - this.startedMs;
  }

  /** The socket took the response's last byte (or, with no response, its turn came). */
  written(nowMs: number): void {
    this.responseSendMs = nowMs - this.readyMs;
    this.durationMs = nowMs - this.receivedMs;
  }

  /** The request failed, before or while its handler ran. */
  failedAt(nowMs: number): void {
    this.failed = true;
    if (Number.isNaN(this.startedMs)) this.requestQueueMs = nowMs - this.receivedMs;
    else this.localMs = nowMs - this.startedMs;
    this.durationMs = nowMs - this.receivedMs;
  }
}
