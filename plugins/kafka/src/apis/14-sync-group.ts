/**
 * SyncGroup (key 14), v0-5. The leader's request carries the assignment, which is stored
 * in `__consumer_offsets` before anyone gets theirs; the others wait for it. v5+ checks
 * the protocol type and name against the group's (INCONSISTENT_GROUP_PROTOCOL).
 */
import { ApiKey } from '../protocol/index.js';
import type { SyncResult } from '../groups/member.js';
import { defineApi } from './api.js';

export const syncGroupApi = defineApi({
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const result = ctx.groups.syncGroup(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      generationId: req.generationId,
      protocolType: req.protocolType ?? null,
      protocolName: req.protocolName ?? null,
      assignments: req.assignments,
    });
    const respond = (r: SyncResult) => ({
      throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment,
    });
    return result instanceof Promise ? result.then(respond) : respond(result);
  },
});
