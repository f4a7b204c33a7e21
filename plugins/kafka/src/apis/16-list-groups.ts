/**
 * ListGroups (key 16), v0-5: every group this node coordinates, with its state (v4+,
 * filtered by states_filter, case-insensitively) and type (v5+: "classic" or "consumer" for
 * KIP-848 groups, whose protocol type is "consumer" too; filtered by types_filter).
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi } from './api.js';

export const listGroupsApi = defineApi({
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const states = new Set((req.statesFilter ?? []).map((s) => s.toLowerCase()));
    const types = new Set((req.typesFilter ?? []).map((s) => s.toLowerCase()));
    const r = ctx.groups.listGroups();
    const groups = r.groups
      .filter((g) => (states.size === 0 || states.has(g.state.toLowerCase())) && (types.size === 0 || types.has(g.type)))
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: g.type }));
    return { throttleTimeMs: 0, errorCode: r.errorCode, groups };
  },
});
