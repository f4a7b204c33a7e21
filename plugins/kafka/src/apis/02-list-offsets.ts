/**
 * ListOffsets (key 2), v1-8.
 *
 * Timestamps: -2 earliest (log start offset), -1 latest (high watermark, or the last stable
 * offset for read_committed), -3 max timestamp (v7+, KIP-734: the record with the largest
 * timestamp), -4 earliest local (v8+, KIP-405: the log start offset, as nothing is tiered
 * yet), otherwise the first offset whose timestamp is at or after it; offset -1 and
 * timestamp -1 when there is none.
 * A partition of the cluster that this node does not lead gets NOT_LEADER_OR_FOLLOWER.
 */
import { ApiKey } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { missingPartitionError } from '../cluster/broker-endpoints.js';
import { defineApi } from './api.js';
import { leaderEpochError } from './01-fetch.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;

export const listOffsetsApi = defineApi({
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 1,
  maxVersion: 8,
  handle(req, ctx) {
    const committed = req.isolationLevel === 1;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const out = { partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1, offset: -1, leaderEpoch: -1 };
          const partition = ctx.kernel.partition(t.name, p.partitionIndex);
          if (partition === undefined) return { ...out, errorCode: missingPartitionError(ctx, t.name, p.partitionIndex) };
          const epochError = leaderEpochError(partition, p.currentLeaderEpoch);
          if (epochError !== 0) return { ...out, errorCode: epochError };
          try {
            switch (p.timestamp) {
              case LATEST:
                return { ...out, offset: committed ? partition.lastStableOffset : partition.highWatermark, leaderEpoch: partition.leaderEpoch };
              case EARLIEST:
              case EARLIEST_LOCAL:
                return { ...out, offset: partition.logStartOffset, leaderEpoch: partition.leaderEpoch };
              case MAX_TIMESTAMP: {
                const found = partition.maxTimestamp();
                return found === undefined ? out : { ...out, offset: found.offset, timestamp: found.timestampMs, leaderEpoch: partition.leaderEpoch };
              }
              default: {
                const found = partition.offsetForTimestamp(p.timestamp);
                return found === undefined ? out : { ...out, offset: found.offset, timestamp: found.timestampMs, leaderEpoch: partition.leaderEpoch };
              }
            }
          } catch (err) {
            return { ...out, errorCode: errorCodeOf(err) };
          }
        }),
      })),
    };
  },
});
