/**
 * JoinGroup (key 11), v0-9, for classic groups (see groups/group.ts for the rebalance).
 *
 * The response waits for the rebalance to complete (or the rebalance timeout): the group
 * state changes synchronously here, so pipelined requests keep their order. v0 has no
 * rebalance timeout and uses the session timeout, as Kafka. v4+ first answers a new member
 * with MEMBER_ID_REQUIRED and its id (KIP-394); v5+ carries group.instance.id (KIP-345);
 * v9+ lets a static leader skip the assignment (KIP-814).
 */
import { ApiKey } from '../protocol/index.js';
import type { JoinResult } from '../groups/member.js';
import { defineApi } from './api.js';

const REQUIRE_MEMBER_ID_VERSION = 4;
const SKIP_ASSIGNMENT_VERSION = 9;
const NULLABLE_PROTOCOL_NAME_VERSION = 7;

export const joinGroupApi = defineApi({
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const result = ctx.groups.joinGroup(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      clientId: ctx.clientId ?? '',
      clientHost: `/${ctx.connection.remoteAddress.replace(/^::ffff:/, '')}`,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      requireKnownMemberId: v >= REQUIRE_MEMBER_ID_VERSION,
      supportsSkipAssignment: v >= SKIP_ASSIGNMENT_VERSION,
      reason: req.reason ?? null,
    });
    const respond = (r: JoinResult) => ({
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      protocolName: v < NULLABLE_PROTOCOL_NAME_VERSION ? (r.protocolName ?? '') : r.protocolName,
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
    });
    return result instanceof Promise ? result.then(respond) : respond(result);
  },
});
