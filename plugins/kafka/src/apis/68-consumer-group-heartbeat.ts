/**
 * ConsumerGroupHeartbeat (key 68), v0-1: the whole of the next-generation consumer protocol
 * (KIP-848) for a member: joining (epoch 0), heartbeats that carry what changed and the
 * partitions it owns, and leaving (epoch -1, or -2 for a static member coming back). The
 * coordinator assigns partitions itself (groups/consumer-group.ts); the answer carries the
 * member's epoch and, when it changed or the request was a full one, its assignment.
 *
 * v0: the coordinator makes member ids; v1 (KIP-1082): the client does, and may subscribe
 * by regex (full match against topic names, internal topics excluded). The response waits
 * until the group's changed records are durable in `__consumer_offsets`.
 */
import { ApiKey, uuidFromString, uuidToString } from '../protocol/index.js';
import { assignmentFrom, sortedEntries } from '../groups/assignors.js';
import type { ConsumerHeartbeatResult } from '../groups/consumer-group.js';
import { defineApi } from './api.js';

export const consumerGroupHeartbeatApi = defineApi({
  apiKey: ApiKey.ConsumerGroupHeartbeat,
  name: 'ConsumerGroupHeartbeat',
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    const owned = req.topicPartitions === null ? null : assignmentFrom(req.topicPartitions.map((tp) => [uuidToString(tp.topicId), tp.partitions] as const));
    const result = ctx.groups.consumerGroupHeartbeat(req.groupId, {
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId,
      rackId: req.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames,
      subscribedTopicRegex: req.subscribedTopicRegex ?? null,
      serverAssignor: req.serverAssignor,
      ownedPartitions: owned,
      clientId: ctx.clientId ?? '',
      clientHost: `/${ctx.connection.remoteAddress.replace(/^::ffff:/, '')}`,
    }, ctx.apiVersion);
    const respond = (r: ConsumerHeartbeatResult) => ({
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : {
        topicPartitions: sortedEntries(r.assignment).map(([t, partitions]) => ({ topicId: uuidFromString(t), partitions })),
      },
    });
    return result instanceof Promise ? result.then(respond) : respond(result);
  },
});
