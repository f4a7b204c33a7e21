/**
 * AddOffsetsToTxn (key 25), v0-3: adds the group's partition of __consumer_offsets to the
 * producer's open transaction, so EndTxn writes a marker there and the offsets sent with
 * TxnOffsetCommit take effect (or not) with the transaction. PRODUCER_FENCED is
 * INVALID_PRODUCER_EPOCH before v2. v4 (transaction version 2, KIP-890) is not served.
 */
import { ApiKey } from '../protocol/index.js';
import { OFFSETS_TOPIC } from '../groups/offsets-store.js';
import { defineApi } from './api.js';

export const addOffsetsToTxnApi = defineApi({
  apiKey: ApiKey.AddOffsetsToTxn,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const partition = ctx.groups.partitionFor(req.groupId);
    const errorOf = await ctx.transactions.addPartitions(req.transactionalId, req.producerId, req.producerEpoch,
      [{ name: OFFSETS_TOPIC, partitions: [partition] }], ctx.apiVersion);
    return { throttleTimeMs: 0, errorCode: errorOf(OFFSETS_TOPIC, partition) };
  },
});
