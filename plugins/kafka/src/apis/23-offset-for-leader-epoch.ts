/**
 * OffsetForLeaderEpoch (key 23), v0-4.
 *
 * For each partition, the largest leader epoch at or below the one asked for that the log
 * knows, and the offset where it ended (the log end offset for the current epoch); -1 and
 * -1 when the log knows none. Consumers use it to detect truncation (KIP-320). v2+ fence on
 * `current_leader_epoch` as Fetch does (FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH); v3+
 * carry `replica_id`, which changes nothing here: every caller is answered from this
 * node's log, which is the leader's (followers fetch with diverging epochs, KIP-320, rather
 * than ask). A partition of the cluster that this node does not lead gets
 * NOT_LEADER_OR_FOLLOWER. v0 has no epoch in its answer.
 */
import { ApiKey } from '../protocol/index.js';
import { ErrorCode } from '../error-codes.js';
import { missingPartitionError } from '../cluster/broker-endpoints.js';
import { defineApi } from './api.js';
import { leaderEpochError } from './01-fetch.js';

const FENCING_MIN_VERSION = 2;

export const offsetForLeaderEpochApi = defineApi({
  apiKey: ApiKey.OffsetForLeaderEpoch,
  name: 'OffsetForLeaderEpoch',
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const fail = (errorCode: number) => ({ errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1 });
          const partition = ctx.kernel.partition(t.topic, p.partition);
          if (partition === undefined) return fail(missingPartitionError(ctx, t.topic, p.partition));
          if (ctx.apiVersion >= FENCING_MIN_VERSION) {
            const epochError = leaderEpochError(partition, p.currentLeaderEpoch);
            if (epochError !== 0) return fail(epochError);
          }
          const { leaderEpoch, endOffset } = partition.endOffsetForLeaderEpoch(p.leaderEpoch);
          return { errorCode: 0, partition: p.partition, leaderEpoch, endOffset };
        }),
      })),
    };
  },
});
