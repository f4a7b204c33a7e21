/**
 * OffsetCommit (key 8), v0-9, for classic and consumer (KIP-848) groups and for clients
 * that only store offsets.
 *
 * A classic member commits with its generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS when it may not); a consumer group member with
 * its member epoch in the same field, from v9 on (STALE_MEMBER_EPOCH for an older epoch,
 * FENCED_MEMBER_EPOCH for a newer one, UNSUPPORTED_VERSION below v9); from v9 a member's
 * commit to a group that does not exist is GROUP_ID_NOT_FOUND. A commit with generation -1
 * and no member id is accepted while the group has no members (v0 is always one). The
 * records are appended before the first await and the response waits until they are
 * durable. v2-4 retention_time_ms gives the offsets their own expiry; -1 means the
 * broker's offsets.retention.minutes. Partitions of unknown topics get
 * UNKNOWN_TOPIC_OR_PARTITION, metadata over offset.metadata.max.bytes OFFSET_METADATA_TOO_LARGE.
 */
import { ApiKey } from '../protocol/index.js';
import { GroupError } from '../groups/errors.js';
import type { CommitPartition } from '../groups/coordinator.js';
import { defineApi } from './api.js';

export const offsetCommitApi = defineApi({
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 9,
  handle(req, ctx) {
    const errors = new Map<string, number>();
    const known: CommitPartition[] = [];
    for (const t of req.topics) {
      const partitions = ctx.kernel.describeTopic(t.name)?.partitions ?? 0;
      for (const p of t.partitions) {
        if (p.partitionIndex < 0 || p.partitionIndex >= partitions) {
          errors.set(`${p.partitionIndex}:${t.name}`, GroupError.UNKNOWN_TOPIC_OR_PARTITION);
          continue;
        }
        known.push({
          topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1,
          metadata: p.committedMetadata, commitTimestampMs: p.commitTimestamp ?? -1,
        });
      }
    }
    const respond = (codes: readonly number[]) => {
      known.forEach((p, i) => errors.set(`${p.partition}:${p.topic}`, codes[i]!));
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${p.partitionIndex}:${t.name}`)! })),
        })),
      };
    };
    if (known.length === 0) return respond([]);
    const result = ctx.groups.commitOffsets(req.groupId, {
      memberId: req.memberId ?? '',
      groupInstanceId: req.groupInstanceId ?? null,
      generationId: req.generationIdOrMemberEpoch ?? -1,
      apiVersion: ctx.apiVersion,
      retentionTimeMs: req.retentionTimeMs ?? -1,
      partitions: known,
    });
    return result instanceof Promise ? result.then(respond) : respond(result);
  },
});
