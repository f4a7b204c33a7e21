/**
 * Heartbeat (key 12), v0-4: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it
 * to rejoin, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID that it is out.
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi } from './api.js';

export const heartbeatApi = defineApi({
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      errorCode: ctx.groups.heartbeat(req.groupId, req.memberId, req.groupInstanceId ?? null, req.generationId),
    };
  },
});
