/**
 * InitProducerId (key 22), v0-4, for idempotent producers.
 *
 * Hands out a fresh producer id (epoch 0) from blocks the kernel reserves in its metadata
 * log, so ids are never reused across restarts. A v3+ request that carries its current id
 * and epoch (KIP-360, after an unknown-sequence error) also gets a fresh id, as Kafka does
 * for non-transactional producers. Transactional ids are answered with
 * COORDINATOR_NOT_AVAILABLE until the transaction coordinator exists.
 */
import { ApiKey } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineApi } from './api.js';

export const initProducerIdApi = defineApi({
  apiKey: ApiKey.InitProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const none = { throttleTimeMs: 0, producerId: -1, producerEpoch: -1 };
    if (req.transactionalId !== null) return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    try {
      return { throttleTimeMs: 0, errorCode: 0, producerId: await ctx.kernel.allocateProducerId(), producerEpoch: 0 };
    } catch (err) {
      return { ...none, errorCode: errorCodeOf(err) };
    }
  },
});
