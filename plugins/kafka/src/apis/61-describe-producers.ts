/**
 * DescribeProducers (key 61), v0.
 *
 * The idempotent producers each partition remembers (those not yet expired by
 * producer.id.expiration.ms): id, epoch, last sequence and timestamp. Transactions are not
 * served yet, so the coordinator epoch and the open transaction's start offset are -1.
 * A missing partition gets UNKNOWN_TOPIC_OR_PARTITION, one of the cluster's that this node
 * does not lead NOT_LEADER_OR_FOLLOWER.
 */
import { ApiKey } from '../protocol/index.js';
import { ErrorCode } from '../error-codes.js';
import { missingPartitionError } from '../cluster/broker-endpoints.js';
import { defineApi } from './api.js';

export const describeProducersApi = defineApi({
  apiKey: ApiKey.DescribeProducers,
  name: 'DescribeProducers',
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((index) => {
          const partition = ctx.kernel.partition(t.name, index);
          if (partition === undefined) {
            const errorCode = missingPartitionError(ctx, t.name, index);
            return { partitionIndex: index, errorCode,
              errorMessage: errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? `${t.name}-${index} does not exist` : `${t.name}-${index} is not led by this node`,
              activeProducers: [] };
          }
          return {
            partitionIndex: index, errorCode: 0, errorMessage: null,
            activeProducers: partition.producers().map((p) => ({
              producerId: p.producerId, producerEpoch: p.producerEpoch, lastSequence: p.lastSequence,
              lastTimestamp: p.lastTimestampMs, coordinatorEpoch: p.coordinatorEpoch, currentTxnStartOffset: p.currentTxnStartOffset,
            })),
          };
        }),
      })),
    };
  },
});
