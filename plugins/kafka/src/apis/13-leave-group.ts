/**
 * LeaveGroup (key 13), v0-5. v0-2 name one member; v3+ a batch with per-member errors, where
 * a member given only by group.instance.id is removed by it (KIP-345 admin removal).
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi } from './api.js';

const BATCH_VERSION = 3;

export const leaveGroupApi = defineApi({
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    if (ctx.apiVersion < BATCH_VERSION) {
      const r = ctx.groups.leaveGroup(req.groupId, [{ memberId: req.memberId, groupInstanceId: null }], 'the member left');
      return { throttleTimeMs: 0, errorCode: r.errorCode !== 0 ? r.errorCode : r.memberErrors[0]! };
    }
    const reasons = req.members.map((m) => m.reason).filter((x) => x !== null && x !== undefined && x !== '');
    const r = ctx.groups.leaveGroup(req.groupId, req.members, reasons.length > 0 ? `the member left: ${reasons.join('; ')}` : 'the member left');
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      members: r.errorCode !== 0 ? [] : req.members.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: r.memberErrors[i]! })),
    };
  },
});
