/**
 * Fetch (key 1), v4-17. Up to v12 topics are named; from v13 (KIP-516) they are given by
 * topic id, resolved against the topics the kernel knows (UNKNOWN_TOPIC_ID otherwise).
 *
 * Reads whole batches from each partition's log, as stored, into the response without
 * copying them again (the encoder passes record buffers through as their own chunks).
 * Limits: `partition_max_bytes` per partition and `max_bytes` overall, except that the
 * first batch of the first partition with data is returned whole, so a consumer always
 * progresses. Long poll: with less than `min_bytes` ready, the request waits until an
 * append moves a high watermark past a fetch position, `max_wait_ms` passes, or the broker
 * stops; appends wake it, nothing polls. Sessions (v7+): see fetch-sessions.ts.
 * Interceptors (`fetch.intercept`) see each partition's records before they are sent: a
 * rejection becomes that partition's error code with no records, a transform replaces
 * the bytes. With no interceptor the stored bytes go out untouched.
 * Isolation: read_committed reads up to the last stable offset, waits for it to move, and
 * carries the aborted transactions overlapping the records returned.
 * A fetch with a replica id comes from another node (Raft or a follower): see
 * cluster/serve-fetch.ts. A consumer fetching a partition of the cluster that this node
 * does not lead gets NOT_LEADER_OR_FOLLOWER and, from v12 (v16 for the endpoints, KIP-951),
 * the current leader.
 */
import type { IsolationLevel, PartitionHandle, RecordBatches, WaterfallResult } from '@sluice/sdk';
import { asOffset } from '@sluice/sdk';
import { ApiKey, uuidToString, ZERO_UUID, type FetchRequest, type FetchResponse } from '../protocol/index.js';
import type { Decoded } from '../protocol/reader.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { FINAL_EPOCH, INITIAL_EPOCH, partitionKey, type FetchSession, type SessionPartition } from '../fetch-sessions.js';
import { clusterLeader, LeaderEndpoints } from '../cluster/broker-endpoints.js';
import { isReplicaFetch, serveReplicaFetch } from '../cluster/serve-fetch.js';
import { defineApi, type RequestContext } from './api.js';

type PartitionData = FetchResponse['responses'][number]['partitions'][number];

interface Wanted {
  readonly topic: string;
  readonly partition: number;
  readonly fetchOffset: number;
  readonly maxBytes: number;
  readonly currentLeaderEpoch: number;
  readonly session?: SessionPartition;
}

const NO_RECORDS = new Uint8Array(0);

export const fetchApi = defineApi({
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 17,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    if (isReplicaFetch(req, v)) return serveReplicaFetch(req, ctx);
    const ids = v >= TOPIC_IDS_VERSION ? nameTopicIds(req, ctx) : undefined;
    const isolation: IsolationLevel = req.isolationLevel === 1 ? 'read_committed' : 'read_uncommitted';
    const resolved = resolveSession(req, ctx);
    if (typeof resolved === 'number') return { throttleTimeMs: 0, errorCode: resolved, sessionId: 0, responses: [] };
    const { session, incremental, wanted } = resolved;
    const maxBytes = v >= 3 ? req.maxBytes : 0x7fffffff;

    let result = readAll(ctx, wanted, maxBytes, isolation);
    if (result.bytes < req.minBytes && req.maxWaitMs > 0 && !result.failed) {
      ctx.purgatory.fetch++;
      try {
        await waitForAnyData(ctx, wanted, req.maxWaitMs, isolation);
      } finally {
        ctx.purgatory.fetch--;
      }
      result = readAll(ctx, wanted, maxBytes, isolation);
    }
    if (ctx.hooks.hasHandlers('fetch.intercept')) {
      const intercepting = interceptFetched(ctx, wanted, result.entries);
      if (intercepting !== undefined) await intercepting;
    }
    if (ctx.hooks.hasHandlers('fetch.failed')) {
      result.entries.forEach((entry, i) => {
        const w = wanted[i]!;
        if (entry.errorCode === 0) return;
        ctx.hooks.runParallel('fetch.failed', { connection: ctx.connection, topic: w.topic, partition: w.partition, errorCode: entry.errorCode });
      });
    }

    const byTopic = new Map<string, PartitionData[]>();
    result.entries.forEach((entry, i) => {
      const w = wanted[i]!;
      const s = w.session;
      if (incremental && s !== undefined && entry.errorCode === 0 && (entry.records?.length ?? 0) === 0 &&
        entry.highWatermark === s.lastHighWatermark && entry.lastStableOffset === s.lastStableOffset &&
        entry.logStartOffset === s.lastLogStartOffset) {
        return;
      }
      if (s !== undefined) {
        s.lastHighWatermark = entry.highWatermark;
        s.lastStableOffset = entry.lastStableOffset ?? -1;
        s.lastLogStartOffset = entry.logStartOffset ?? -1;
      }
      const list = byTopic.get(w.topic) ?? [];
      list.push(entry);
      byTopic.set(w.topic, list);
    });
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: session?.id ?? 0,
      nodeEndpoints: result.failed ? hintedEndpoints(ctx, result.entries) : [],
      responses: [...byTopic.entries()].map(([topic, partitions]) => (ids === undefined
        ? { topic, partitions }
        : { topic, topicId: ids.get(topic) ?? ZERO_UUID, partitions })),
    };
  },
});

/** Fetch v13 is the first to name topics by id (KIP-516). */
const TOPIC_IDS_VERSION = 13;
/** Names given to ids no topic has, so they fail lookups and map back to their id. */
const UNKNOWN_ID_PREFIX = '\u0000unknown-topic-id:';

/**
 * Fills in the topic names of an id-based request, so the rest of the handler (sessions
 * included) works by name; returns name -> id for the response.
 */
function nameTopicIds(req: Request, ctx: RequestContext): Map<string, Uint8Array> {
  const byId = new Map<string, string>();
  const ids = new Map<string, Uint8Array>();
  for (const t of ctx.kernel.listTopics()) byId.set(uuidToString(t.topicId), t.name);
  const nameOf = (id: Uint8Array): string => {
    const key = uuidToString(id);
    const name = byId.get(key) ?? UNKNOWN_ID_PREFIX + key;
    ids.set(name, id);
    return name;
  };
  for (const t of req.topics) t.topic = nameOf(t.topicId);
  for (const f of req.forgottenTopicsData) f.topic = nameOf(f.topicId);
  return ids;
}

type Request = Decoded<FetchRequest>;

/** Works out which partitions this request fetches, per KIP-227; a number is a top-level error code. */
function resolveSession(req: Request, ctx: RequestContext):
  number | { session: FetchSession | undefined; incremental: boolean; wanted: Wanted[] } {
  const sessions = ctx.fetchSessions;
  const sessionId = ctx.apiVersion >= 7 ? req.sessionId : 0;
  const epoch = ctx.apiVersion >= 7 ? req.sessionEpoch : FINAL_EPOCH;
  const fromRequest = (): Wanted[] => req.topics.flatMap((t) => t.partitions.map((p) => ({
    topic: t.topic, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.partitionMaxBytes,
    currentLeaderEpoch: p.currentLeaderEpoch,
  })));
  const fill = (session: FetchSession): Wanted[] => {
    const list = fromRequest();
    return list.map((w) => {
      const s: SessionPartition = {
        topic: w.topic, partition: w.partition, fetchOffset: w.fetchOffset, maxBytes: w.maxBytes,
        lastHighWatermark: -1, lastStableOffset: -1, lastLogStartOffset: -1,
      };
      session.partitions.set(partitionKey(w.topic, w.partition), s);
      return { ...w, session: s };
    });
  };

  if (sessionId === 0) {
    if (epoch !== INITIAL_EPOCH) return { session: undefined, incremental: false, wanted: fromRequest() };
    const session = sessions.open();
    return { session, incremental: false, wanted: session === undefined ? fromRequest() : fill(session) };
  }
  const existing = sessions.get(sessionId);
  if (existing === undefined) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
  if (epoch === FINAL_EPOCH) {
    sessions.close(sessionId);
    return { session: undefined, incremental: false, wanted: fromRequest() };
  }
  if (epoch === INITIAL_EPOCH) {
    sessions.close(sessionId);
    const session = sessions.open();
    return { session, incremental: false, wanted: session === undefined ? fromRequest() : fill(session) };
  }
  if (epoch !== existing.nextEpoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
  existing.nextEpoch = existing.nextEpoch === 0x7fffffff ? 1 : existing.nextEpoch + 1;
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const key = partitionKey(t.topic, p.partition);
      const s = existing.partitions.get(key);
      if (s !== undefined) {
        s.fetchOffset = p.fetchOffset;
        s.maxBytes = p.partitionMaxBytes;
      } else {
        existing.partitions.set(key, {
          topic: t.topic, partition: p.partition, fetchOffset: p.fetchOffset, maxBytes: p.partitionMaxBytes,
          lastHighWatermark: -1, lastStableOffset: -1, lastLogStartOffset: -1,
        });
      }
    }
  }
  for (const f of req.forgottenTopicsData) {
    for (const p of f.partitions) existing.partitions.delete(partitionKey(f.topic, p));
  }
  const epochs = new Map(req.topics.flatMap((t) => t.partitions.map((p) => [partitionKey(t.topic, p.partition), p.currentLeaderEpoch])));
  const wanted = [...existing.partitions.values()].map((s) => ({
    topic: s.topic, partition: s.partition, fetchOffset: s.fetchOffset, maxBytes: s.maxBytes,
    currentLeaderEpoch: epochs.get(partitionKey(s.topic, s.partition)) ?? -1, session: s,
  }));
  return { session: existing, incremental: true, wanted };
}

function readAll(ctx: RequestContext, wanted: readonly Wanted[], maxBytes: number, isolation: IsolationLevel):
  { entries: PartitionData[]; bytes: number; failed: boolean } {
  let bytes = 0;
  let failed = false;
  const entries = wanted.map((w): PartitionData => {
    const entry: PartitionData = {
      partitionIndex: w.partition, errorCode: 0, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
      abortedTransactions: isolation === 'read_committed' ? [] : null, preferredReadReplica: -1, records: NO_RECORDS,
    };
    const partition = ctx.kernel.partition(w.topic, w.partition);
    if (partition === undefined) {
      failed = true;
      const leader = clusterLeader(ctx, w.topic, w.partition);
      if (leader !== undefined) {
        entry.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        entry.currentLeader = leader;
      } else {
        entry.errorCode = w.topic.startsWith(UNKNOWN_ID_PREFIX) ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      }
      return entry;
    }
    entry.highWatermark = partition.highWatermark;
    entry.lastStableOffset = partition.lastStableOffset;
    entry.logStartOffset = partition.logStartOffset;
    const epochError = leaderEpochError(partition, w.currentLeaderEpoch);
    if (epochError !== 0) {
      failed = true;
      entry.errorCode = epochError;
      hintIfMoved(ctx, w, entry);
      return entry;
    }
    // The first partition with data may exceed the overall limit by its first batch.
    const limit = bytes === 0 ? w.maxBytes : Math.min(w.maxBytes, maxBytes - bytes);
    if (limit <= 0) return entry;
    try {
      const read = partition.read(asOffset(w.fetchOffset), limit, isolation);
      entry.records = read.records;
      entry.highWatermark = read.highWatermark;
      entry.lastStableOffset = read.lastStableOffset;
      entry.logStartOffset = read.logStartOffset;
      if (isolation === 'read_committed') {
        entry.abortedTransactions = read.abortedTransactions.map((t) => ({ producerId: t.producerId, firstOffset: t.firstOffset }));
      }
      bytes += read.records.length;
    } catch (err) {
      failed = true;
      entry.errorCode = errorCodeOf(err);
      hintIfMoved(ctx, w, entry);
    }
    return entry;
  });
  return { entries, bytes, failed };
}

/** KIP-951: a consumer told the partition moved also learns where to, when the cluster knows. */
function hintIfMoved(ctx: RequestContext, w: Wanted, entry: PartitionData): void {
  if (entry.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && entry.errorCode !== ErrorCode.FENCED_LEADER_EPOCH) return;
  const leader = clusterLeader(ctx, w.topic, w.partition);
  if (leader !== undefined) entry.currentLeader = leader;
}

/** The endpoints of the leaders named in `currentLeader` hints (v16+ node_endpoints). */
function hintedEndpoints(ctx: RequestContext, entries: readonly PartitionData[]): FetchResponse['nodeEndpoints'] {
  let leaders: LeaderEndpoints | undefined;
  for (const e of entries) {
    if (e.currentLeader !== undefined && e.currentLeader.leaderId >= 0) (leaders ??= new LeaderEndpoints()).add(e.currentLeader.leaderId);
  }
  return leaders === undefined ? [] : leaders.list(ctx);
}

/**
 * Runs `fetch.intercept` over every partition that returns records, all partitions at
 * once. Undefined when every interceptor answered synchronously: nothing to await.
 */
function interceptFetched(ctx: RequestContext, wanted: readonly Wanted[], entries: PartitionData[]): Promise<void> | undefined {
  const waits: Array<Promise<void>> = [];
  entries.forEach((entry, i) => {
    const records = entry.records;
    if (entry.errorCode !== 0 || records === null || records === undefined || records.length === 0) return;
    const w = wanted[i]!;
    const apply = (r: WaterfallResult<RecordBatches>): void => {
      if (r.outcome === 'accept') {
        entry.records = r.value.bytes;
      } else {
        entry.errorCode = r.errorCode;
        entry.records = NO_RECORDS;
      }
    };
    const r = ctx.hooks.runWaterfall('fetch.intercept', ctx.hooks.recordBatches(records), {
      connection: ctx.connection, principal: ctx.principal, topic: w.topic, partition: w.partition, clientId: ctx.clientId,
      fetchOffset: w.fetchOffset,
    });
    if (r instanceof Promise) waits.push(r.then(apply));
    else apply(r);
  });
  return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
}

/** Kafka's fencing (KIP-320): a client that knows a newer epoch than ours, or an older one, is told so. */
export function leaderEpochError(partition: PartitionHandle, currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0 || currentLeaderEpoch === partition.leaderEpoch) return 0;
  return currentLeaderEpoch > partition.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}

/** Resolves when any fetched partition gets data past its fetch position, after `maxWaitMs`, or at stop. */
function waitForAnyData(ctx: RequestContext, wanted: readonly Wanted[], maxWaitMs: number, isolation: IsolationLevel): Promise<void> {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  ctx.signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, maxWaitMs);
  const waits: Array<Promise<void>> = [];
  for (const w of wanted) {
    const partition = ctx.kernel.partition(w.topic, w.partition);
    if (partition !== undefined) waits.push(partition.waitForData(asOffset(w.fetchOffset), abort.signal, isolation));
  }
  waits.push(new Promise((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true })));
  return Promise.race(waits).finally(() => {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', stop);
    abort.abort();
  });
}
