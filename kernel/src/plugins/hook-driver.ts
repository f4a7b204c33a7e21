/**
 * Runs the typed hooks of @sluice/sdk. Plugins register while they start; `freeze()`
 * (after the last plugin started) sorts each hook's handlers once (pre, normal, post,
 * then priority, then registration order) and compiles them into an array per hook.
 * A hook nobody registered has no array: `hasHandlers` is one property lookup, and the
 * run methods return a constant.
 *
 * Isolation: every handler call has a deadline (its `timeoutMs`). Synchronous handlers
 * cannot overrun without blocking the process, so a timer exists only for a handler that
 * returned a promise. A `first` or `waterfall` handler that throws or is late gets its
 * declared fallback (by default a rejection with POLICY_VIOLATION: fail closed);
 * sequential and parallel failures are logged and counted and the chain goes on.
 * Failures are counted per plugin and hook (`failures()`).
 */
import {
  ANONYMOUS, Decision, HOOK_DEFAULT_TIMEOUT_MS, HOOK_KINDS, POLICY_VIOLATION,
  type CallContext, type HandlerFor, type HookFallback, type HookInput, type HookKind, type HookName, type HookNameOf,
  type HookOptions, type HookOutput, type HookRunner, type KernelEventName, type Logger, type MaybePromise, type RecordBatches,
  type Rejection, type WaterfallResult,
} from '@sluice/sdk';
import type { KernelEventBus } from '../events.js';
import { recordBatches } from './record-batches.js';

type AnyHandler = (...args: never[]) => unknown;

interface Entry {
  readonly plugin: string;
  readonly name: HookName;
  readonly handler: AnyHandler;
  readonly ctx: CallContext;
  readonly orderRank: number;
  readonly priority: number;
  readonly seq: number;
  readonly onTimeout: HookFallback;
  readonly onError: HookFallback;
  readonly rejection: Rejection;
  /** Undefined: every topic. */
  readonly topicMatches: ((topic: string) => boolean) | undefined;
}

/** Counted failures of one plugin's handler on one hook. */
export interface HookFailureCount {
  readonly plugin: string;
  readonly hook: HookName;
  errors: number;
  timeouts: number;
}

/** Where a hook's input names its topic, for `filter.topics`. Hooks without an entry take no filter. */
const TOPIC_OF: { readonly [N in HookName]?: (input: HookInput<N>) => string } = {
  'produce.intercept': (i) => i.topic,
  'fetch.intercept': (i) => i.topic,
  'topic.create.policy': (i) => i.topic,
  'topic.delete.policy': (i) => i.topic,
  'topic.config.policy': (i) => i.topic,
  'produce.failed': (i) => i.topic,
  'fetch.failed': (i) => i.topic,
  'record.committed': (i) => i.topic,
  'topic.created': (i) => i.topic.name,
  'topic.deleted': (i) => i.name,
  'topic.config.changed': (i) => i.name,
  'segment.rolled': (i) => i.topic,
  'segment.deleted': (i) => i.topic,
};

/** The kernel events that hooks of the same meaning are fed from. */
const BRIDGED: ReadonlyArray<readonly [HookNameOf<'parallel'>, KernelEventName]> = [
  ['record.committed', 'batch.appended'],
  ['topic.created', 'topic.created'],
  ['topic.deleted', 'topic.deleted'],
  ['topic.config.changed', 'topic.config.changed'],
  ['segment.rolled', 'segment.rolled'],
  ['segment.deleted', 'segment.deleted'],
];

/** What a `first` hook answers when no handler decides. */
const FIRST_DEFAULTS: { readonly [N in HookNameOf<'first'>]: Decision<HookOutput<N>> } = {
  'connection.authenticate': Decision.accept(ANONYMOUS),
  'request.authorize': Decision.accept(),
  'topic.create.policy': Decision.accept(),
  'topic.delete.policy': Decision.accept(),
  'topic.config.policy': Decision.accept(),
};

const ORDER_RANK = { pre: 0, normal: 1, post: 2 } as const;
/** A fallback of `skip`: as if the handler said `next` or returned the value unchanged. */
const SKIP = Symbol('skip');

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function compileTopicFilter(topics: ReadonlyArray<string | RegExp>): (topic: string) => boolean {
  const names = new Set(topics.filter((t): t is string => typeof t === 'string'));
  const patterns = topics.filter((t): t is RegExp => t instanceof RegExp);
  return (topic) => names.has(topic) || patterns.some((p) => p.test(topic));
}

export class HookDriver implements HookRunner {
  private registered: Entry[] = [];
  /** Null prototype: a missing hook is `undefined` without walking Object.prototype. */
  private chains: { [N in HookName]?: readonly Entry[] } = Object.create(null) as Record<string, never>;
  private frozen = false;
  private seq = 0;
  private readonly failureCounts = new Map<string, HookFailureCount>();
  private unbridge: Array<() => void> = [];

  constructor(private readonly log: Logger, private readonly events?: KernelEventBus) {}

  /** Adds a handler; throws for a registration after freeze or a filter the hook cannot apply. */
  register<N extends HookName>(plugin: string, log: Logger, name: N, handler: HandlerFor<N>, options: HookOptions = {}): () => void {
    const kind: HookKind | undefined = HOOK_KINDS[name];
    if (kind === undefined) throw new Error(`unknown hook "${name}"`);
    if (typeof handler !== 'function') throw new TypeError(`hook ${name}: the handler is not a function`);
    if (this.frozen) throw new Error(`hook ${name}: registrations are closed once every plugin has started`);
    const topics = options.filter?.topics;
    if (topics !== undefined && TOPIC_OF[name] === undefined) throw new Error(`hook ${name} has no topic to filter on`);
    const timeoutMs = options.timeoutMs ?? HOOK_DEFAULT_TIMEOUT_MS[kind];
    if (!(timeoutMs > 0)) throw new RangeError(`hook ${name}: timeoutMs must be positive, got ${timeoutMs}`);
    const errorCode = options.errorCode ?? POLICY_VIOLATION;
    const entry: Entry = {
      plugin, name, handler: handler as AnyHandler, ctx: Object.freeze({ hook: name, plugin, log, timeoutMs }),
      orderRank: ORDER_RANK[options.order ?? 'normal'], priority: options.priority ?? 0, seq: this.seq++,
      onTimeout: options.onTimeout ?? 'reject', onError: options.onError ?? 'reject',
      rejection: Decision.reject(errorCode, `plugin ${plugin} failed in ${name}`),
      topicMatches: topics === undefined ? undefined : compileTopicFilter(topics),
    };
    this.registered.push(entry);
    return () => this.remove((e) => e === entry);
  }

  /** Fixes the order and compiles the chains; hooks fed by kernel events start listening. */
  isFrozen(): boolean {
    return this.frozen;
  }

  freeze(): void {
    this.frozen = true;
    this.compile();
  }

  /** Drops everything a plugin registered (at its stop). */
  removePlugin(plugin: string): void {
    this.remove((e) => e.plugin === plugin);
  }

  hasHandlers(name: HookName): boolean {
    return this.chains[name] !== undefined;
  }

  failures(): readonly HookFailureCount[] {
    return [...this.failureCounts.values()];
  }

  recordBatches(bytes: Uint8Array): RecordBatches {
    return recordBatches(bytes);
  }

  runFirst<N extends HookNameOf<'first'>>(name: N, input: HookInput<N>): MaybePromise<Decision<HookOutput<N>>> {
    const chain = this.chains[name];
    const fallback = FIRST_DEFAULTS[name] as Decision<HookOutput<N>>;
    if (chain === undefined) return fallback;
    return this.firstFrom(chain, 0, input, fallback);
  }

  private firstFrom<O>(chain: readonly Entry[], start: number, input: unknown, fallback: Decision<O>): MaybePromise<Decision<O>> {
    for (let i = start; i < chain.length; i++) {
      const e = chain[i]!;
      if (e.topicMatches !== undefined && !e.topicMatches(TOPIC_OF[e.name]!(input as never))) continue;
      let result: unknown;
      try {
        result = e.handler(input as never, e.ctx as never);
      } catch (err) {
        if (this.fail(e, 'error', err) === 'reject') return e.rejection;
        continue;
      }
      if (isThenable(result)) {
        return this.settle(e, result).then((settled): MaybePromise<Decision<O>> => {
          if (settled === e.rejection) return e.rejection;
          if (settled === SKIP) return this.firstFrom(chain, i + 1, input, fallback);
          const decision = this.checkDecision(e, settled);
          if (decision === SKIP || decision.outcome === 'next') return this.firstFrom(chain, i + 1, input, fallback);
          return decision as Decision<O>;
        });
      }
      const decision = this.checkDecision(e, result);
      if (decision !== SKIP && decision.outcome !== 'next') return decision as Decision<O>;
    }
    return fallback;
  }

  runWaterfall<N extends HookNameOf<'waterfall'>>(name: N, value: HookOutput<N>, input: HookInput<N>):
    MaybePromise<WaterfallResult<HookOutput<N>>> {
    const chain = this.chains[name];
    if (chain === undefined) return { outcome: 'accept', value };
    return this.waterfallFrom(chain, 0, value, input);
  }

  private waterfallFrom<T>(chain: readonly Entry[], start: number, value: T, input: unknown): MaybePromise<WaterfallResult<T>> {
    let current = value;
    for (let i = start; i < chain.length; i++) {
      const e = chain[i]!;
      if (e.topicMatches !== undefined && !e.topicMatches(TOPIC_OF[e.name]!(input as never))) continue;
      let result: unknown;
      try {
        result = e.handler(current as never, input as never, e.ctx as never);
      } catch (err) {
        if (this.fail(e, 'error', err) === 'reject') return e.rejection;
        continue;
      }
      if (isThenable(result)) {
        const before = current;
        return this.settle(e, result).then((settled): MaybePromise<WaterfallResult<T>> => {
          if (settled === e.rejection || isRejection(settled)) return settled as Rejection;
          if (settled === SKIP) return this.waterfallFrom(chain, i + 1, before, input);
          if (settled === undefined || settled === null) {
            return this.fail(e, 'error', new Error('returned nothing')) === 'reject' ? e.rejection : this.waterfallFrom(chain, i + 1, before, input);
          }
          return this.waterfallFrom(chain, i + 1, settled as T, input);
        });
      }
      if (isRejection(result)) return result;
      if (result === undefined || result === null) {
        if (this.fail(e, 'error', new Error('returned nothing')) === 'reject') return e.rejection;
        continue;
      }
      current = result as T;
    }
    return { outcome: 'accept', value: current };
  }

  async runSequential<N extends HookNameOf<'sequential'>>(name: N, input: HookInput<N>): Promise<void> {
    const chain = this.chains[name];
    if (chain === undefined) return;
    for (const e of chain) {
      try {
        const result = e.handler(input as never, e.ctx as never);
        if (isThenable(result)) await this.settle(e, result);
      } catch (err) {
        this.fail(e, 'error', err);
      }
    }
  }

  runParallel<N extends HookNameOf<'parallel'>>(name: N, input: HookInput<N>): void {
    const chain = this.chains[name];
    if (chain === undefined) return;
    for (const e of chain) {
      if (e.topicMatches !== undefined && !e.topicMatches(TOPIC_OF[e.name]!(input as never))) continue;
      try {
        const result = e.handler(input as never, e.ctx as never);
        if (isThenable(result)) void this.settle(e, result);
      } catch (err) {
        this.fail(e, 'error', err);
      }
    }
  }

  /**
   * Awaits a handler's promise against its deadline. Resolves with its value, with
   * `e.rejection` when the fallback rejects, or with SKIP when it skips. Never rejects.
   */
  private settle(e: Entry, result: PromiseLike<unknown>): Promise<unknown> {
    // One promise and one timer, not a race between two promises: whichever comes first
    // settles it, and an answer after the deadline is neither used nor counted.
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        resolve(this.fail(e, 'timeout', undefined) === 'reject' ? e.rejection : SKIP);
      }, e.ctx.timeoutMs);
      timer.unref();
      Promise.resolve(result).then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(this.fail(e, 'error', err) === 'reject' ? e.rejection : SKIP);
        },
      );
    });
  }

  /** A `first` handler's answer, or its error fallback when it is not a decision. */
  private checkDecision(e: Entry, value: unknown): Decision<unknown> | typeof SKIP {
    const outcome = typeof value === 'object' && value !== null ? (value as { outcome?: unknown }).outcome : undefined;
    if (outcome === 'accept' || outcome === 'reject' || outcome === 'next') return value as Decision<unknown>;
    return this.fail(e, 'error', new Error('did not return a decision')) === 'reject' ? e.rejection : SKIP;
  }

  /** Logs and counts a failure; returns the fallback that applies. */
  private fail(e: Entry, what: 'error' | 'timeout', err: unknown): HookFallback {
    const key = `${e.plugin}\u0000${e.name}`;
    let count = this.failureCounts.get(key);
    if (count === undefined) {
      count = { plugin: e.plugin, hook: e.name, errors: 0, timeouts: 0 };
      this.failureCounts.set(key, count);
    }
    const kind = HOOK_KINDS[e.name];
    const dataPath = kind === 'first' || kind === 'waterfall';
    const fallback = dataPath ? (what === 'error' ? e.onError : e.onTimeout) : 'skip';
    if (what === 'error') count.errors++;
    else count.timeouts++;
    this.log.error(what === 'error' ? 'hook handler threw' : 'hook handler missed its deadline', {
      plugin: e.plugin, hook: e.name, timeoutMs: e.ctx.timeoutMs,
      ...(err === undefined ? {} : { error: err instanceof Error ? err.message : String(err) }),
      ...(dataPath ? { fallback } : {}),
    });
    return fallback;
  }

  private remove(which: (e: Entry) => boolean): void {
    const rest = this.registered.filter((e) => !which(e));
    if (rest.length === this.registered.length) return;
    this.registered = rest;
    if (this.frozen) this.compile();
  }

  private compile(): void {
    const sorted = [...this.registered].sort((a, b) => a.orderRank - b.orderRank || b.priority - a.priority || a.seq - b.seq);
    const chains: { [N in HookName]?: Entry[] } = Object.create(null) as Record<string, never>;
    for (const e of sorted) (chains[e.name] ??= []).push(e);
    this.chains = chains;
    for (const off of this.unbridge) off();
    this.unbridge = [];
    if (this.events === undefined) return;
    for (const [hook, event] of BRIDGED) {
      if (chains[hook] === undefined) continue;
      this.unbridge.push(this.events.on(event, (e) => this.runParallel(hook, e as never)));
    }
  }
}

function isRejection(value: unknown): value is Rejection {
  return typeof value === 'object' && value !== null && (value as { outcome?: unknown }).outcome === 'reject';
}
