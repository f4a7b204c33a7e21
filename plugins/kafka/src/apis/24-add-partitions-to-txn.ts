/**
 * AddPartitionsToTxn (key 24), v0-3: a producer adds partitions to its open transaction
 * before producing to them. v4+ (KIP-890: brokers verifying for each other) is not served
 * and not advertised, so clients use v3 and below.
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi } from './api.js';

export const addPartitionsToTxnApi = defineApi({
  apiKey: ApiKey.AddPartitionsToTxn,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const topics = (req.v3AndBelowTopics ?? []).map((t) => ({ name: t.name, partitions: t.partitions }));
    const errorOf = await ctx.transactions.addPartitions(req.v3AndBelowTransactionalId ?? '', req.v3AndBelowProducerId ?? -1,
      req.v3AndBelowProducerEpoch ?? -1, topics, ctx.apiVersion);
    return {
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: topics.map((t) => ({
        name: t.name,
        resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: errorOf(t.name, p) })),
      })),
    };
  },
});
