/**
 * EndTxn (key 26), v0-3: commits or aborts the producer's open transaction. Answered once
 * the COMMIT or ABORT marker is durable on every partition of the transaction and the
 * completion is recorded in __transaction_state. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH
 * before v2. v5+ (transaction version 2, KIP-890) is not served.
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi } from './api.js';

export const endTxnApi = defineApi({
  apiKey: ApiKey.EndTxn,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const errorCode = await ctx.transactions.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed, ctx.apiVersion);
    return { throttleTimeMs: 0, errorCode };
  },
});
