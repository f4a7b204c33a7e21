/**
 * Produce (key 0), v3-11: RecordBatch v2 only (magic 2 arrives with v3).
 *
 * Every partition's records go to the kernel as the producer sent them; the kernel
 * validates, assigns offsets and stores the bytes. All appends of a request happen
 * before the first await (so pipelined requests keep their order), then the request
 * waits for the acks it asked for: acks=0 nothing (and no response at all), acks=1 the
 * write, acks=-1 durability (fdatasync, or min.insync.replicas replicas in a cluster),
 * bounded by the request's timeout (REQUEST_TIMED_OUT). With acks=0 any error closes the
 * connection, as Kafka does, since there is no response to carry it.
 * Interceptors (`produce.intercept`) see each partition's batch before the append: a
 * rejection becomes that partition's error code, a transform replaces the bytes (which
 * the kernel validates like any produce, CRC included). With no interceptor the records
 * go to the kernel untouched and nothing is built for hooks. An interceptor that answers
 * asynchronously defers the append; `ctx.order` keeps later requests of the connection
 * from appending before it.
 * Transactional batches need the request's transactional id, and the transaction
 * coordinator must know the partition as part of that producer's open transaction
 * (AddPartitionsToTxn first); otherwise INVALID_TXN_STATE, INVALID_PRODUCER_EPOCH or
 * INVALID_PRODUCER_ID_MAPPING, checked before anything is appended. A batch with a
 * producer id but no sequence is refused (INVALID_RECORD), as Kafka refuses it from
 * clients: the kernel appends such batches only for coordinators.
 * A partition of the cluster that this node does not lead (no local handle, or the kernel
 * refusing with NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH) is answered with that error
 * and, from v10 (KIP-951), the current leader and its endpoint, so the client need not ask
 * Metadata first.
 */
import { KafkaError, type AppendAcks, type AppendResult, type PartitionHandle, type WaterfallResult, type RecordBatches } from '@sluice/sdk';
import { ApiKey, type ProduceResponse } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { clusterLeader, LeaderEndpoints } from '../cluster/broker-endpoints.js';
import { defineApi, type RequestContext } from './api.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

const CODEC_ZSTD = 4;
const BATCH_HEADER_BYTES = 61;
/** Bit 4 of the attributes' low byte (byte 22 of a batch). */
const ATTR_TRANSACTIONAL = 0x10;
/** Produce v7 is the first that may carry zstd (KIP-110). */
const ZSTD_MIN_VERSION = 7;

export const produceApi = defineApi({
  apiKey: ApiKey.Produce,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 11,
  handle(req, ctx) {
    const acks: AppendAcks | undefined = req.acks === 0 ? 'none' : req.acks === 1 ? 'leader' : req.acks === -1 ? 'durable' : undefined;
    const pending: Array<Promise<void>> = [];
    const intercepting = ctx.hooks.hasHandlers('produce.intercept');
    // Leaders named in hints; allocated only when a partition is not led here.
    let leaders: LeaderEndpoints | undefined;
    const hint = (out: PartitionResponse, leader: { leaderId: number; leaderEpoch: number }): void => {
      out.currentLeader = leader;
      (leaders ??= new LeaderEndpoints()).add(leader.leaderId);
    };
    const hintIfMoved = (out: PartitionResponse, topic: string): void => {
      if (out.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && out.errorCode !== ErrorCode.FENCED_LEADER_EPOCH) return;
      const leader = clusterLeader(ctx, topic, out.index);
      if (leader !== undefined) hint(out, leader);
    };
    const finish = (response: ProduceResponse): ProduceResponse => {
      if (leaders !== undefined) response.nodeEndpoints = leaders.list(ctx);
      reportFailed(ctx, response.responses);
      return response;
    };
    const responses = req.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((p): PartitionResponse => {
        const out: PartitionResponse = {
          index: p.index, errorCode: 0, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: null,
        };
        const fail = (code: number, message: string): PartitionResponse => {
          out.errorCode = code;
          out.errorMessage = message;
          return out;
        };
        if (acks === undefined) return fail(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, got ${req.acks}`);
        if (p.records !== null && p.records.length >= BATCH_HEADER_BYTES && hasProducerWithoutSequence(p.records)) {
          return fail(ErrorCode.INVALID_RECORD, 'a batch with a producer id needs a sequence number');
        }
        if (p.records !== null && p.records.length >= BATCH_HEADER_BYTES && (p.records[22]! & ATTR_TRANSACTIONAL) !== 0) {
          if (req.transactionalId === null) return fail(ErrorCode.INVALID_TXN_STATE, 'a transactional batch needs a transactional id');
          const records = Buffer.from(p.records.buffer, p.records.byteOffset, p.records.byteLength);
          const code = ctx.transactions.checkProduce(req.transactionalId, Number(records.readBigInt64BE(43)), records.readInt16BE(51),
            topic.name, p.index);
          if (code !== 0) return fail(code, `${topic.name}-${p.index} is not in an open transaction of ${req.transactionalId} for this producer`);
        }
        const partition = ctx.kernel.partition(topic.name, p.index);
        if (partition === undefined) {
          const leader = clusterLeader(ctx, topic.name, p.index);
          if (leader === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic.name}-${p.index} does not exist`);
          hint(out, leader);
          return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${topic.name}-${p.index} is not led by this node (leader: ${leader.leaderId})`);
        }
        if (p.records === null || p.records.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE, 'no records');
        if (ctx.apiVersion < ZSTD_MIN_VERSION && usesZstd(p.records)) {
          return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `zstd needs Produce v${ZSTD_MIN_VERSION} or later`);
        }
        let appended: Promise<AppendResult>;
        try {
          if (!intercepting) {
            appended = partition.append(p.records, acks);
          } else {
            const intercepted = intercept(ctx, partition, p.records, acks);
            if (intercepted instanceof Promise) {
              // Wrapped in an object so that the append is issued (and the order hold released) without waiting for it.
              const issued = intercepted.then((r) => ({ appended: appendIntercepted(r, partition, acks) }));
              ctx.order.hold(issued);
              appended = issued.then((a) => a.appended);
            } else {
              appended = appendIntercepted(intercepted, partition, acks);
            }
          }
        } catch (err) {
          fail(errorCodeOf(err), (err as Error).message);
          hintIfMoved(out, topic.name);
          return out;
        }
        pending.push(appended.then(
          (r) => {
            out.baseOffset = r.baseOffset;
            out.logAppendTimeMs = r.logAppendTimeMs;
            out.logStartOffset = r.logStartOffset;
          },
          (err: unknown) => {
            out.errorCode = errorCodeOf(err);
            out.errorMessage = KafkaError.is(err) ? err.message : 'internal error';
            hintIfMoved(out, topic.name);
            if (!KafkaError.is(err)) ctx.log.error('produce failed', { topic: topic.name, partition: p.index, error: String(err) });
          },
        ));
        return out;
      }),
    }));
    const response: ProduceResponse = { responses, throttleTimeMs: 0 };
    if (acks === 'none') {
      return Promise.all(pending).then(() => {
        reportFailed(ctx, responses);
        const failed = responses.flatMap((t) => t.partitionResponses).find((p) => p.errorCode !== 0);
        if (failed !== undefined) throw new Error(`acks=0 produce failed: ${failed.errorMessage}`);
        return null;
      });
    }
    if (pending.length === 0) return finish(response);
    const durable = acks === 'durable';
    if (durable) ctx.purgatory.produce++;
    return withTimeout(Promise.all(pending), req.timeoutMs).then((done) => {
      if (durable) ctx.purgatory.produce--;
      if (!done) {
        for (const t of responses) {
          for (const p of t.partitionResponses) {
            if (p.errorCode === 0 && p.baseOffset < 0) {
              p.errorCode = ErrorCode.REQUEST_TIMED_OUT;
              p.errorMessage = `not durable within timeout_ms ${req.timeoutMs}`;
            }
          }
        }
      }
      return finish(response);
    });
  },
});

function intercept(ctx: RequestContext, partition: PartitionHandle, records: Uint8Array, acks: AppendAcks):
  WaterfallResult<RecordBatches> | Promise<WaterfallResult<RecordBatches>> {
  return ctx.hooks.runWaterfall('produce.intercept', ctx.hooks.recordBatches(records), {
    connection: ctx.connection, principal: ctx.principal, topic: partition.topic, partition: partition.partition,
    clientId: ctx.clientId, acks,
  });
}

/** Appends what the interceptors let through, or fails with their code. */
function appendIntercepted(r: WaterfallResult<RecordBatches>, partition: PartitionHandle, acks: AppendAcks): Promise<AppendResult> {
  if (r.outcome === 'reject') {
    const reason = r.reason ?? 'rejected by a produce interceptor';
    return Promise.reject(new KafkaError(r.errorCode, 'INTERCEPTOR_REJECTED', reason));
  }
  try {
    return partition.append(r.value.bytes, acks);
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** Every batch of the request, not only the first: one without a sequence would escape deduplication. */
function hasProducerWithoutSequence(records: Uint8Array): boolean {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  for (let pos = 0; pos + BATCH_HEADER_BYTES <= buf.length; pos += 12 + buf.readInt32BE(pos + 8)) {
    if (buf.readInt32BE(pos + 43) >= 0 && buf.readInt32BE(pos + 53) < 0) return true;
    if (buf.readInt32BE(pos + 8) <= 0) break;
  }
  return false;
}

/** `produce.failed` for every partition answered with an error; nothing is built when no one listens. */
function reportFailed(ctx: RequestContext, responses: ProduceResponse['responses']): void {
  if (!ctx.hooks.hasHandlers('produce.failed')) return;
  for (const t of responses) {
    for (const p of t.partitionResponses) {
      if (p.errorCode === 0) continue;
      ctx.hooks.runParallel('produce.failed', { connection: ctx.connection, topic: t.name, partition: p.index, errorCode: p.errorCode });
    }
  }
}

function usesZstd(records: Uint8Array): boolean {
  // attributes low byte of the first batch; a producer does not mix codecs in one request
  return records.length > 22 && (records[22]! & 0x07) === CODEC_ZSTD;
}

/** Resolves true when `work` settles within `ms`, false otherwise (work continues). */
function withTimeout(work: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms <= 0) return work.then(() => true);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([work.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
