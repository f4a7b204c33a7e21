/**
 * ConsumerGroupDescribe (key 69), v0: consumer (KIP-848) groups with their epochs, the
 * assignor of the last target assignment, and each member's subscription, current and
 * target assignment. A classic group or an unknown id is GROUP_ID_NOT_FOUND, with Kafka's
 * messages, so that admin clients fall back to DescribeGroups for classic groups. There are
 * no ACLs yet, so authorized operations are reported as not computed.
 */
import { ApiKey, uuidFromString } from '../protocol/index.js';
import { EMPTY_ASSIGNMENT, sortedEntries, type Assignment } from '../groups/assignors.js';
import type { ConsumerGroup } from '../groups/consumer-group.js';
import { defineApi } from './api.js';

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

function described(group: ConsumerGroup, a: Assignment) {
  return {
    topicPartitions: sortedEntries(a).map(([t, partitions]) => ({ topicId: uuidFromString(t), topicName: group.topicName(t), partitions })),
  };
}

export const consumerGroupDescribeApi = defineApi({
  apiKey: ApiKey.ConsumerGroupDescribe,
  name: 'ConsumerGroupDescribe',
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      groups: req.groupIds.map((groupId) => {
        const { errorCode, errorMessage, group } = ctx.groups.describeConsumerGroup(groupId);
        if (group === null) {
          return {
            errorCode, errorMessage, groupId, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [],
            authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          };
        }
        return {
          errorCode,
          errorMessage,
          groupId,
          groupState: group.state,
          groupEpoch: group.groupEpoch,
          assignmentEpoch: group.assignmentEpoch,
          assignorName: group.assignorName,
          members: [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            instanceId: m.instanceId,
            rackId: m.rackId,
            memberEpoch: m.memberEpoch,
            clientId: m.clientId,
            clientHost: m.clientHost,
            subscribedTopicNames: [...m.subscribedTopicNames],
            subscribedTopicRegex: m.subscribedTopicRegex,
            assignment: described(group, m.assigned),
            targetAssignment: described(group, group.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT),
          })),
          authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
        };
      }),
    };
  },
});
