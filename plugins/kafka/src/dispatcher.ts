/**
 * Turns a request frame into a response frame: header, API and version check, body
 * decode, handler, encode. An unknown API key, an unsupported version (except for
 * ApiVersions) or a malformed body throws, which closes the connection, as Kafka does.
 * ApiVersions asked at a version we do not serve gets Kafka's fallback: a v0 body with
 * UNSUPPORTED_VERSION and our ApiVersions range, so the client can retry lower.
 *
 * Hooks: before its first request a connection is put to `connection.authenticate`, and
 * every request to `request.authorize`. No SASL exchange is served yet, so nothing is
 * really authenticated: with no handler every connection is `User:ANONYMOUS` and every
 * request is allowed. A rejection closes the connection (Kafka's per-resource
 * authorization error codes come with ACLs). For `request.completed` a request gets a
 * RequestTiming, stamped here when its handler starts; the connection reports it once
 * the response is written. When none of these has a handler (and no earlier request of
 * the connection is waiting on a hook), a request takes the direct path: no hook input is
 * built and nothing is allocated for hooks. A Produce with interceptors takes it too, and
 * opens an order slot only when an interceptor answers asynchronously (DeferredSlot).
 * Requests from another node's cluster transport (its client id) go to the handlers in
 * `peerApis` where one exists for the API: admin requests forwarded to the controller.
 */
import { ANONYMOUS, type Decision, type HookRunner, type MaybePromise, type Principal } from '@sluice/sdk';
import {
  ApiKey,
  decodeRequestBody,
  encodeResponse,
  encodeResponseChunks,
  isKnownApiKey,
  readRequestFrame,
  type KnownApiKey,
  type ResponseOf,
} from './protocol/index.js';
import type { ApiHandler, RequestContext } from './apis/api.js';
import { CLUSTER_CLIENT_ID } from './cluster/controller-wire.js';
import type { ConnectionInfo, Exchange, ResponseParts } from './server/connection.js';
import { DeferredSlot, OrderGate, UNGATED, type OrderHold, type OrderSlot } from './server/order-gate.js';
import { RequestTiming } from './server/request-timing.js';

export const UNSUPPORTED_VERSION = 35;

export type SharedContext = Omit<RequestContext, 'connection' | 'apiVersion' | 'correlationId' | 'clientId' | 'principal' | 'order'>;

interface ConnectionState {
  /** Undefined until `connection.authenticate` answered (or when nobody asks it). */
  principal: Principal | undefined;
  readonly gate: OrderGate;
}

type Response = ResponseParts | null;

function then<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

export class Dispatcher {
  private readonly byKey: Array<ApiHandler | undefined> = [];
  /** Handlers for requests sent by another node's cluster transport, where they differ (cluster/forwarded-apis.ts). */
  private readonly fromPeers: Array<ApiHandler | undefined> = [];
  private readonly states = new WeakMap<ConnectionInfo, ConnectionState>();
  private readonly hooks: HookRunner;

  constructor(apis: readonly ApiHandler[], private readonly shared: SharedContext, peerApis: readonly ApiHandler[] = []) {
    for (const api of apis) {
      if (this.byKey[api.apiKey] !== undefined) throw new Error(`two handlers for API key ${api.apiKey}`);
      this.byKey[api.apiKey] = api;
    }
    for (const api of peerApis) this.fromPeers[api.apiKey] = api;
    this.hooks = shared.hooks;
  }

  readonly handle = (frame: Buffer, connection: ConnectionInfo, exchange: Exchange): ResponseParts | null | Promise<ResponseParts | null> => {
    const { header, body } = readRequestFrame(frame);
    const apiKey = header.requestApiKey;
    const version = header.requestApiVersion;
    const correlationId = header.correlationId;
    const api = (header.clientId === CLUSTER_CLIENT_ID ? this.fromPeers[apiKey] : undefined) ?? this.byKey[apiKey];
    if (apiKey === ApiKey.ApiVersions && api !== undefined && version > api.maxVersion) {
      return encodeResponse(ApiKey.ApiVersions, 0, correlationId, {
        errorCode: UNSUPPORTED_VERSION,
        apiKeys: [{ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion }],
      });
    }
    if (api === undefined || !isKnownApiKey(apiKey)) throw new Error(`API key ${apiKey} is not served`);
    if (version < api.minVersion || version > api.maxVersion) {
      throw new Error(`${api.name} v${version} is not served (v${api.minVersion}-${api.maxVersion})`);
    }
    const request = decodeRequestBody(apiKey, version, body);
    const hooks = this.hooks;
    const state = this.states.get(connection);
    const authenticate = state?.principal === undefined && hooks.hasHandlers('connection.authenticate');
    if (!authenticate && state?.gate.busy !== true && !hooks.hasHandlers('request.authorize') && !hooks.hasHandlers('request.completed')) {
      const principal = state?.principal ?? ANONYMOUS;
      if (!(apiKey === ApiKey.Produce && hooks.hasHandlers('produce.intercept'))) {
        const ctx = requestContext(this.shared, connection, version, correlationId, header.clientId, principal, UNGATED);
        return this.invoke(api as ApiHandler<KnownApiKey>, apiKey, request, ctx);
      }
      const order = new DeferredSlot(() => this.stateOf(connection).gate.open());
      const ctx = requestContext(this.shared, connection, version, correlationId, header.clientId, principal, order);
      try {
        return this.invoke(api as ApiHandler<KnownApiKey>, apiKey, request, ctx);
      } finally {
        order.close();
      }
    }
    if (hooks.hasHandlers('request.completed')) {
      exchange.timing = new RequestTiming(connection, apiKey, api.name, version, exchange.receivedMs);
    }
    return this.hooked(api as ApiHandler<KnownApiKey>, apiKey, request, connection, version, correlationId, header.clientId, authenticate,
      exchange.timing);
  };

  private invoke(api: ApiHandler<KnownApiKey>, apiKey: KnownApiKey, request: unknown, ctx: RequestContext): MaybePromise<Response> {
    const result = api.handle(request as never, ctx);
    if (result instanceof Promise) return result.then((r) => encode(apiKey, ctx.apiVersion, ctx.correlationId, r));
    return encode(apiKey, ctx.apiVersion, ctx.correlationId, result);
  }

  private stateOf(connection: ConnectionInfo): ConnectionState {
    let state = this.states.get(connection);
    if (state === undefined) {
      state = { principal: undefined, gate: new OrderGate() };
      this.states.set(connection, state);
    }
    return state;
  }

  /** The path through hooks, in request order per connection even when a hook answers later. */
  private hooked(api: ApiHandler<KnownApiKey>, apiKey: KnownApiKey, request: unknown, connection: ConnectionInfo, version: number,
    correlationId: number, clientId: string | null, authenticate: boolean, timing: RequestTiming | null): MaybePromise<Response> {
    const st = this.stateOf(connection);
    const slot = st.gate.open();
    const run = (): MaybePromise<Response> => {
      const principal = authenticate && st.principal === undefined
        ? then(this.hooks.runFirst('connection.authenticate', { connection, mechanism: null }), (d) => {
          st.principal = decided(d, 'authentication');
          return st.principal;
        })
        : (st.principal ?? ANONYMOUS);
      return then(principal, (p) => {
        const allowed = this.hooks.hasHandlers('request.authorize')
          ? this.hooks.runFirst('request.authorize', { connection, principal: p, apiKey, apiName: api.name, apiVersion: version, clientId })
          : undefined;
        return then(allowed, (d) => {
          if (d !== undefined) decided(d, `${api.name} authorization`);
          const ctx = requestContext(this.shared, connection, version, correlationId, clientId, p, slot);
          timing?.started(performance.now());
          try {
            return this.invoke(api, apiKey, request, ctx);
          } finally {
            slot.close();
          }
        });
      });
    };
    return slot.ready === undefined ? runClosing(run, slot) : slot.ready.then(() => runClosing(run, slot));
  }
}

/**
 * Runs a request's hooks and handler. The order slot closes as soon as the handler has
 * returned (the appends it deferred are held on the slot), not when its response is
 * ready, so durability waits of pipelined requests still overlap; and on any failure.
 */
function runClosing(run: () => MaybePromise<Response>, slot: OrderSlot): MaybePromise<Response> {
  let result: MaybePromise<Response>;
  try {
    result = run();
  } catch (err) {
    slot.close();
    throw err;
  }
  if (!(result instanceof Promise)) return result;
  return result.catch((err: unknown) => {
    slot.close();
    throw err;
  });
}

/**
 * Field by field, not `{ ...shared, connection, ... }`: V8 (Node 20) builds an object
 * spread followed by more properties on a slow path that cost microseconds per request.
 */
function requestContext(shared: SharedContext, connection: ConnectionInfo, apiVersion: number, correlationId: number,
  clientId: string | null, principal: Principal, order: OrderHold): RequestContext {
  return {
    kernel: shared.kernel, broker: shared.broker, config: shared.config, log: shared.log, fetchSessions: shared.fetchSessions,
    groups: shared.groups, transactions: shared.transactions, purgatory: shared.purgatory, signal: shared.signal, hooks: shared.hooks,
    connection, apiVersion, correlationId, clientId, principal, order,
  };
}

/** A `first` hook's decision as the request sees it: accepted value, or an error that closes the connection. */
function decided<T>(d: Decision<T>, what: string): T {
  if (d.outcome === 'reject') throw new Error(`${what} rejected (error ${d.errorCode})${d.reason === undefined ? '' : `: ${d.reason}`}`);
  if (d.outcome === 'next') throw new Error(`assertion failed: ${what} ended on next`);
  return d.value;
}

function encode(apiKey: KnownApiKey, version: number, correlationId: number, body: ResponseOf<KnownApiKey> | null): ResponseParts | null {
  if (body === null) return null;
  return apiKey === ApiKey.Fetch
    ? encodeResponseChunks(apiKey, version, correlationId, body as never)
    : encodeResponse(apiKey, version, correlationId, body as never);
}
