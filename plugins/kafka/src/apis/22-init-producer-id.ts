/**
 * InitProducerId (key 22), v0-4.
 *
 * Without a transactional id: a fresh producer id (epoch 0) from blocks the kernel reserves
 * in its metadata log, so ids are never reused across restarts; a v3+ request that carries
 * its current id and epoch (KIP-360, after an unknown-sequence error) also gets a fresh id,
 * as Kafka does for non-transactional producers.
 * With one: the transaction coordinator (transactions/coordinator.ts) gives the id's
 * producer id a bumped epoch, fencing earlier producers and aborting a transaction they
 * left open; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v4.
 */
import { ApiKey } from '../protocol/index.js';
import { errorCodeOf } from '../error-codes.js';
import { defineApi } from './api.js';

export const initProducerIdApi = defineApi({
  apiKey: ApiKey.InitProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const none = { throttleTimeMs: 0, producerId: -1, producerEpoch: -1 };
    if (req.transactionalId !== null) {
      const r = await ctx.transactions.initProducerId(req.transactionalId, req.transactionTimeoutMs, req.producerId ?? -1,
        req.producerEpoch ?? -1, ctx.apiVersion);
      return { throttleTimeMs: 0, ...r };
    }
    try {
      return { throttleTimeMs: 0, errorCode: 0, producerId: await ctx.kernel.allocateProducerId(), producerEpoch: 0 };
    } catch (err) {
      return { ...none, errorCode: errorCodeOf(err) };
    }
  },
});
