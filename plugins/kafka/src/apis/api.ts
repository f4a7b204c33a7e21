/**
 * What one Kafka API handler is: its key, the versions it serves, and a function from the
 * decoded request to the response body. Handlers live one per file, named by key
 * (`00-produce.ts`), and open with the versions they serve and how they behave.
 */
import type { BrokerInfo, HookRunner, Kernel, Logger, Principal } from '@sluice/sdk';
import type { KnownApiKey, RequestOf, ResponseOf } from '../protocol/index.js';
import type { Decoded } from '../protocol/reader.js';
import type { ConnectionInfo } from '../server/connection.js';
import type { OrderHold } from '../server/order-gate.js';
import type { FrontendConfig } from '../config.js';
import type { FetchSessions } from '../fetch-sessions.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { Purgatory } from '../purgatory.js';
import type { TransactionCoordinator } from '../transactions/coordinator.js';

export interface RequestContext {
  readonly kernel: Kernel;
  readonly broker: BrokerInfo;
  readonly config: FrontendConfig;
  readonly log: Logger;
  readonly connection: ConnectionInfo;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly fetchSessions: FetchSessions;
  readonly groups: GroupCoordinator;
  readonly transactions: TransactionCoordinator;
  /** Counts of requests waiting for durability or data, for metrics. */
  readonly purgatory: Purgatory;
  /** Aborted when the broker stops: long polls end early. */
  readonly signal: AbortSignal;
  /** The hooks other plugins registered (interceptors, observers). */
  readonly hooks: HookRunner;
  /** Who the connection acts as; `User:ANONYMOUS` until SASL exists. */
  readonly principal: Principal;
  /** Where a handler that defers an append (after an asynchronous interceptor) holds later requests. */
  readonly order: OrderHold;
}

export interface ApiHandler<K extends KnownApiKey = KnownApiKey> {
  readonly apiKey: K;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Returns the response body, or null when Kafka sends none (Produce with acks=0).
   * Ordered side effects (appends) must happen before the first await: see server/connection.ts.
   */
  handle(request: Decoded<RequestOf<K>>, ctx: RequestContext): ResponseOf<K> | null | Promise<ResponseOf<K> | null>;
}

export function defineApi<K extends KnownApiKey>(handler: ApiHandler<K>): ApiHandler<K> {
  return handler;
}
