/**
 * DescribeGroups (key 15), v0-5. A group this node does not know is reported Dead with no
 * members, as Kafka does, and so is a consumer (KIP-848) group, which Kafka describes only
 * through ConsumerGroupDescribe; member metadata and assignments only for a Stable group. There
 * are no ACLs yet, so authorized operations are reported as not computed.
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi } from './api.js';

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const describeGroupsApi = defineApi({
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) => {
        const d = ctx.groups.describeGroup(groupId);
        return {
          errorCode: d.errorCode,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocolData,
          members: d.members.map((m) => ({
            memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
            memberMetadata: m.metadata, memberAssignment: m.assignment,
          })),
          authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
        };
      }),
    };
  },
});
