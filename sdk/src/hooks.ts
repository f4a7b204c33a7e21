/**
 * Typed hooks: every hook point a plugin can attach to, with its kind and its input and
 * output types in one declaration (`HookSpecs`), so a handler with the wrong signature
 * does not compile and the kernel's driver accepts only names of the right kind.
 *
 * Kinds:
 * - `first`: handlers run in order until one decides (`accept` or `reject`); `next`
 *   passes to the following handler. Authentication and authorization.
 * - `waterfall`: a value is threaded through the handlers; each returns it (possibly
 *   replaced) or a rejection, which ends the chain. Produce and fetch interceptors.
 * - `sequential`: handlers run one after another and are awaited. Broker lifecycle.
 * - `parallel`: observers; their results and failures never affect the caller.
 *
 * Ordering is fixed when the broker has started every plugin: `order` (pre, normal,
 * post), then `priority` (higher first), then registration order.
 * Failure rules: a `first` or `waterfall` handler that throws or misses its deadline is
 * answered by its `onError`/`onTimeout` fallback, by default a rejection with the hook's
 * Kafka error code (fail closed); `sequential` and `parallel` failures are logged and
 * counted and never change the request.
 */
import type { KernelEvents, Logger } from './index.js';

/** @stable */
export type HookKind = 'first' | 'waterfall' | 'sequential' | 'parallel';

/** The declaration of one hook: its kind, what handlers receive and what they produce. @stable */
export interface HookSpec<K extends HookKind, I, O = void> {
  readonly kind: K;
  readonly input: I;
  readonly output: O;
}

/** A decision ending a chain with a Kafka error code (`POLICY_VIOLATION`, 44, by default). @stable */
export interface Rejection {
  readonly outcome: 'reject';
  readonly errorCode: number;
  readonly reason?: string;
}

/** What a `first` handler answers. @stable */
export type Decision<T = void> =
  | { readonly outcome: 'accept'; readonly value: T }
  | Rejection
  | { readonly outcome: 'next' };

const NEXT = Object.freeze({ outcome: 'next' as const });
const ACCEPT_VOID = Object.freeze({ outcome: 'accept' as const, value: undefined });

function accept(): Decision<void>;
function accept<T>(value: T): Decision<T>;
function accept<T>(value?: T): Decision<T | void> {
  return value === undefined ? ACCEPT_VOID : { outcome: 'accept', value };
}

/** Builders for decisions; `Decision.next` and `Decision.accept()` allocate nothing. @stable */
export const Decision = {
  accept,
  reject(errorCode: number, reason?: string): Rejection {
    return reason === undefined ? { outcome: 'reject', errorCode } : { outcome: 'reject', errorCode, reason };
  },
  next: NEXT as Decision<never>,
} as const;

/** Kafka's POLICY_VIOLATION: the default code when a data-path hook fails closed. @stable */
export const POLICY_VIOLATION = 44;

// ---- payloads

/** A client connection as hooks see it. @evolving */
export interface ConnectionDescription {
  /** Unique per frontend for the life of the process. */
  readonly id: number;
  /** The frontend that owns it, e.g. `kafka`. */
  readonly protocol: string;
  readonly listener: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** @evolving */
export interface ConnectionClosed {
  readonly connection: ConnectionDescription;
  readonly reason: string;
}

/** Who a connection acts as. `User:ANONYMOUS` when nothing authenticated it. @evolving */
export interface Principal {
  readonly type: string;
  readonly name: string;
}

/** @stable */
export const ANONYMOUS: Principal = Object.freeze({ type: 'User', name: 'ANONYMOUS' });

/**
 * Asked once per connection, before its first request is handled. No SASL exchange exists
 * yet, so `mechanism` is null and there are no credentials: a handler can decide only on
 * the connection's address and listener.
 * @evolving
 */
export interface AuthenticateInput {
  readonly connection: ConnectionDescription;
  readonly mechanism: string | null;
}

/** Asked for every request, before it is handled; coarse-grained (per API, not per resource). @evolving */
export interface AuthorizeInput {
  readonly connection: ConnectionDescription;
  readonly principal: Principal;
  readonly apiKey: number;
  readonly apiName: string;
  readonly apiVersion: number;
  readonly clientId: string | null;
}

/** One decoded record. Offsets are relative to the batch (assigned at append). @evolving */
export interface LogRecord {
  readonly offsetDelta: number;
  readonly timestampMs: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: ReadonlyArray<readonly [key: string, value: Uint8Array | null]>;
}

/**
 * RecordBatch v2 bytes with a lazy view of their records: `records()` decodes (and
 * decompresses) on its first call only, so an interceptor that looks at the batch header
 * or the topic alone pays nothing for decoding.
 * @evolving @sealed
 */
export interface RecordBatches {
  readonly bytes: Uint8Array;
  /** From the batch headers, without decoding. */
  readonly recordCount: number;
  /** Throws a KafkaError (CORRUPT_MESSAGE, INVALID_RECORD) when the bytes do not decode. */
  records(): readonly LogRecord[];
  /**
   * One uncompressed batch holding `records`, with the first batch's producer id, epoch,
   * base sequence and flags. The kernel validates it (CRC included) like any produce; an
   * idempotent batch must keep its record count or its sequence check fails.
   */
  withRecords(records: readonly LogRecord[]): RecordBatches;
}

/** @evolving */
export interface ProduceInterceptInput {
  readonly connection: ConnectionDescription;
  readonly principal: Principal;
  readonly topic: string;
  readonly partition: number;
  readonly clientId: string | null;
  readonly acks: 'none' | 'leader' | 'durable';
}

/** @evolving */
export interface FetchInterceptInput {
  readonly connection: ConnectionDescription;
  readonly principal: Principal;
  readonly topic: string;
  readonly partition: number;
  readonly clientId: string | null;
  readonly fetchOffset: number;
}

/**
 * A topic about to be created by a client: by CreateTopics (also with `validateOnly`,
 * so a policy answers a dry run as it would the real one) or by Metadata's
 * auto-creation. Asked after the name, counts and configs passed the kernel's checks;
 * a rejection is that topic's error code and message. Topics created by plugins through
 * the kernel are not asked.
 * @evolving
 */
export interface TopicCreateInput {
  readonly connection: ConnectionDescription;
  readonly principal: Principal;
  readonly clientId: string | null;
  readonly topic: string;
  readonly partitions: number;
  /** The overrides requested; broker defaults are not filled in. */
  readonly configs: Readonly<Record<string, string>>;
  readonly via: 'CreateTopics' | 'Metadata';
  readonly validateOnly: boolean;
}

/** A partition of a produce or fetch request answered with an error code. For metrics and audit. @evolving */
export interface PartitionFailed {
  readonly connection: ConnectionDescription;
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
}

/**
 * After a request's response was written to its socket, or after the request failed
 * (which closes the connection). For metrics and audit. The times split `durationMs` as
 * Kafka's RequestMetrics do (all in ms, from `performance.now()`):
 * `requestQueueMs + localMs + responseSendMs = durationMs`. A request whose response was
 * never written because the connection closed first is not reported. Changed in 0.1.0:
 * `durationMs` ends when the response is written (it ended when it was encoded), and the
 * three parts are new.
 * @evolving
 */
export interface RequestCompleted {
  readonly connection: ConnectionDescription;
  readonly apiKey: number;
  readonly apiName: string;
  readonly apiVersion: number;
  /** From the request's frame fully read to its response written (or its failure): Kafka's TotalTimeMs. */
  readonly durationMs: number;
  /**
   * From the frame read to the handler starting: decoding, waiting behind earlier requests
   * of the connection held by hooks, authentication and authorization. Kafka's RequestQueueTimeMs.
   */
  readonly requestQueueMs: number;
  /**
   * The handler, from its start to the response encoded, including what it awaits
   * (durability of acks=all appends, long-poll fetches): Kafka's LocalTimeMs plus RemoteTimeMs.
   */
  readonly localMs: number;
  /**
   * From the response encoded to the socket taking its last byte (the write callback),
   * including the wait for earlier responses of the connection: Kafka's
   * ResponseQueueTimeMs plus ResponseSendTimeMs. 0 for a request with no response (acks=0)
   * or one that failed.
   */
  readonly responseSendMs: number;
  readonly failed: boolean;
}

/**
 * What a frontend knows that metrics cannot read from the kernel, reported on
 * `metrics.collect`. Each method may be called any number of times per collection.
 * @evolving
 */
export interface MetricsCollection {
  /**
   * Requests parked until something happens, per kind: `Produce`, acks=all produce
   * requests waiting for durability; `Fetch`, fetches waiting for data (long polls).
   * Kafka's DelayedOperationPurgatory PurgatorySize.
   */
  purgatorySize(operation: 'Produce' | 'Fetch', size: number): void;
  /** A consumer group's committed offset on a partition (the collector compares it with the high watermark for lag). */
  committedOffset(group: string, topic: string, partition: number, offset: number): void;
}

/**
 * A topic a client asks to delete (DeleteTopics), after it was found. A rejection is
 * that topic's error code and message. Topics deleted by plugins through the kernel are
 * not asked.
 * @evolving
 */
export interface TopicDeleteInput {
  readonly connection: ConnectionDescription;
  readonly principal: Principal;
  readonly clientId: string | null;
  readonly topic: string;
}

/**
 * Topic config overrides a client asks to change (AlterConfigs, IncrementalAlterConfigs,
 * also with `validateOnly`), after the kernel validated them: Kafka's alter.config.policy.
 * A rejection is that resource's error code and message. Changes made by plugins through
 * the kernel are not asked.
 * @evolving
 */
export interface TopicConfigInput {
  readonly connection: ConnectionDescription;
  readonly principal: Principal;
  readonly clientId: string | null;
  readonly topic: string;
  /** Keys set (string) or removed (null); AlterConfigs' replace semantics already turned into changes. */
  readonly changes: Readonly<Record<string, string | null>>;
  readonly via: 'AlterConfigs' | 'IncrementalAlterConfigs';
  readonly validateOnly: boolean;
}

/** @evolving */
export interface BrokerLifecycle {
  readonly nodeId: number;
  readonly clusterId: string;
}

// ---- the declaration

/**
 * Every hook. Adding one is a minor version; changing one's types is a major version.
 * @stable
 */
export interface HookSpecs {
  'connection.accepted': HookSpec<'parallel', ConnectionDescription>;
  'connection.closed': HookSpec<'parallel', ConnectionClosed>;
  'connection.authenticate': HookSpec<'first', AuthenticateInput, Principal>;
  'request.authorize': HookSpec<'first', AuthorizeInput>;
  'request.completed': HookSpec<'parallel', RequestCompleted>;
  /** A create.topic.policy: the first handler that does not say `next` decides. */
  'topic.create.policy': HookSpec<'first', TopicCreateInput>;
  /** Asked per topic a client deletes; as `topic.create.policy`. */
  'topic.delete.policy': HookSpec<'first', TopicDeleteInput>;
  /** An alter.config.policy for topics; as `topic.create.policy`. */
  'topic.config.policy': HookSpec<'first', TopicConfigInput>;
  'produce.intercept': HookSpec<'waterfall', ProduceInterceptInput, RecordBatches>;
  'fetch.intercept': HookSpec<'waterfall', FetchInterceptInput, RecordBatches>;
  /** Produce partitions answered with an error code (rejected, invalid, timed out). */
  'produce.failed': HookSpec<'parallel', PartitionFailed>;
  /** Fetch partitions answered with an error code. */
  'fetch.failed': HookSpec<'parallel', PartitionFailed>;
  /** Batches written to a partition (before they are durable with acks=all). */
  'record.committed': HookSpec<'parallel', KernelEvents['batch.appended']>;
  'topic.created': HookSpec<'parallel', KernelEvents['topic.created']>;
  'topic.deleted': HookSpec<'parallel', KernelEvents['topic.deleted']>;
  'topic.config.changed': HookSpec<'parallel', KernelEvents['topic.config.changed']>;
  'segment.rolled': HookSpec<'parallel', KernelEvents['segment.rolled']>;
  'segment.deleted': HookSpec<'parallel', KernelEvents['segment.deleted']>;
  /** Every plugin has started; frontends may already be listening. */
  'broker.starting': HookSpec<'sequential', BrokerLifecycle>;
  /** After `broker.starting`: the broker is up. */
  'broker.started': HookSpec<'sequential', BrokerLifecycle>;
  /** Before any plugin stops; frontends still serve. */
  'broker.stopping': HookSpec<'sequential', BrokerLifecycle>;
  /**
   * Called by a metrics plugin each time it collects (a scrape, an export): handlers
   * report into the input synchronously; what a promise reports later is lost.
   */
  'metrics.collect': HookSpec<'parallel', MetricsCollection>;
}

/** @stable */
export type HookName = keyof HookSpecs;
/** @stable */
export type HookNameOf<K extends HookKind> = { [N in HookName]: HookSpecs[N]['kind'] extends K ? N : never }[HookName];
/** @stable */
export type HookInput<N extends HookName> = HookSpecs[N]['input'];
/** @stable */
export type HookOutput<N extends HookName> = HookSpecs[N]['output'];

/** A handler may answer synchronously: a chain of synchronous handlers allocates no Promise. @stable */
export type MaybePromise<T> = T | Promise<T>;

/** What a handler knows of its call. One object per registration: nothing is allocated per call. @evolving */
export interface CallContext {
  readonly hook: HookName;
  readonly plugin: string;
  readonly log: Logger;
  /** After this the result is ignored and the fallback applies. */
  readonly timeoutMs: number;
}

/** The handler signature for hook `N`, derived from its kind. @stable */
export type HandlerFor<N extends HookName> =
  HookSpecs[N] extends HookSpec<'first', infer I, infer O> ? (input: I, ctx: CallContext) => MaybePromise<Decision<O>>
  : HookSpecs[N] extends HookSpec<'waterfall', infer I, infer O> ? (value: O, input: I, ctx: CallContext) => MaybePromise<O | Rejection>
  : HookSpecs[N] extends HookSpec<'sequential' | 'parallel', infer I> ? (input: I, ctx: CallContext) => MaybePromise<void>
  : never;

/** What a failed (`onError`) or late (`onTimeout`) `first`/`waterfall` handler counts as. @stable */
export type HookFallback = 'reject' | 'skip';

/** @stable */
export interface HookOptions {
  /** `pre` handlers run before unmarked ones, `post` after. */
  readonly order?: 'pre' | 'post';
  /** Higher runs earlier within the same `order`; default 0. */
  readonly priority?: number;
  /** Default per kind: see `HOOK_DEFAULT_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
  /** `reject` (default): fail closed with `errorCode`; `skip`: as if the handler said `next` or returned the value unchanged. */
  readonly onTimeout?: HookFallback;
  readonly onError?: HookFallback;
  /** The code a fallback rejection carries; POLICY_VIOLATION by default. */
  readonly errorCode?: number;
  /** Only for hooks whose input names a topic: the handler is not called for other topics. */
  readonly filter?: { readonly topics?: ReadonlyArray<string | RegExp> };
}

/** The kind of every hook, at runtime. The compiler checks that it is complete. @stable */
export const HOOK_KINDS: { readonly [N in HookName]: HookSpecs[N]['kind'] } = {
  'connection.accepted': 'parallel',
  'connection.closed': 'parallel',
  'connection.authenticate': 'first',
  'request.authorize': 'first',
  'request.completed': 'parallel',
  'topic.create.policy': 'first',
  'topic.delete.policy': 'first',
  'topic.config.policy': 'first',
  'produce.intercept': 'waterfall',
  'fetch.intercept': 'waterfall',
  'produce.failed': 'parallel',
  'fetch.failed': 'parallel',
  'record.committed': 'parallel',
  'topic.created': 'parallel',
  'topic.deleted': 'parallel',
  'topic.config.changed': 'parallel',
  'segment.rolled': 'parallel',
  'segment.deleted': 'parallel',
  'broker.starting': 'sequential',
  'broker.started': 'sequential',
  'broker.stopping': 'sequential',
  'metrics.collect': 'parallel',
};

/** Deadlines when a registration sets none: tight on the data path, generous for lifecycle. @stable */
export const HOOK_DEFAULT_TIMEOUT_MS: Readonly<Record<HookKind, number>> = {
  first: 50,
  waterfall: 50,
  sequential: 5_000,
  parallel: 1_000,
};

/** The outcome of a waterfall chain. @stable */
export type WaterfallResult<T> = { readonly outcome: 'accept'; readonly value: T } | Rejection;

/**
 * How a frontend calls hooks. The kernel implements it. Check `hasHandlers` before
 * building an input: a hook nobody registered then costs one lookup.
 * With no handlers, `runFirst` accepts (with `ANONYMOUS` for authenticate) and
 * `runWaterfall` returns the value unchanged; with handlers that all say `next`, the same.
 * @evolving @sealed
 */
export interface HookRunner {
  hasHandlers(name: HookName): boolean;
  runFirst<N extends HookNameOf<'first'>>(name: N, input: HookInput<N>): MaybePromise<Decision<HookOutput<N>>>;
  runWaterfall<N extends HookNameOf<'waterfall'>>(name: N, value: HookOutput<N>, input: HookInput<N>):
    MaybePromise<WaterfallResult<HookOutput<N>>>;
  runSequential<N extends HookNameOf<'sequential'>>(name: N, input: HookInput<N>): Promise<void>;
  runParallel<N extends HookNameOf<'parallel'>>(name: N, input: HookInput<N>): void;
  /** A lazy record view over RecordBatch v2 bytes, for `produce.intercept` and `fetch.intercept`. */
  recordBatches(bytes: Uint8Array): RecordBatches;
}
