/**
 * OffsetFetch (key 9), v0-9. v0-7 ask for one group (v2+: a null topic list means all its
 * offsets, and group errors are top-level); v8+ for many groups at once. A partition
 * without a committed offset answers -1. With require_stable (v7+) a partition whose
 * commit is still being written answers UNSTABLE_OFFSET_COMMIT, which clients retry. The
 * v9 member id and epoch are checked against a consumer (KIP-848) group's members
 * (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH; epoch -1 is an admin read); classic groups ignore them.
 */
import { ApiKey } from '../protocol/index.js';
import { GroupError } from '../groups/errors.js';
import type { FetchingMember } from '../groups/coordinator.js';
import { defineApi, type RequestContext } from './api.js';

const TOP_LEVEL_ERROR_VERSION = 2;
const MULTI_GROUP_VERSION = 8;

function fetchGroup(
  ctx: RequestContext,
  groupId: string,
  topics: ReadonlyArray<{ name: string; partitionIndexes: number[] }> | null,
  requireStable: boolean,
  member: FetchingMember | null = null,
) {
  const wanted = topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
  const r = ctx.groups.fetchOffsets(groupId, wanted, requireStable, member);
  return {
    errorCode: r.errorCode,
    topics: r.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: p.leaderEpoch, metadata: p.metadata, errorCode: p.errorCode,
      })),
    })),
  };
}

export const offsetFetchApi = defineApi({
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 9,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    if (v >= MULTI_GROUP_VERSION) {
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g) => {
          const member = g.memberId === undefined || g.memberId === null ? null : { memberId: g.memberId, memberEpoch: g.memberEpoch ?? -1 };
          return { groupId: g.groupId, ...fetchGroup(ctx, g.groupId, g.topics, req.requireStable, member) };
        }),
      };
    }
    const r = fetchGroup(ctx, req.groupId, req.topics, req.requireStable);
    if (r.errorCode !== GroupError.NONE && v < TOP_LEVEL_ERROR_VERSION) {
      // v0-1 have no top-level error: every asked partition carries it.
      const topics = (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode })),
      }));
      return { throttleTimeMs: 0, topics, errorCode: r.errorCode };
    }
    return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode };
  },
});
