/**
 * DeleteGroups (key 42), v0-2: an Empty group's offsets and metadata (for a consumer group,
 * all of its KIP-848 records) are tombstoned in `__consumer_offsets`, answered once durable. A group with members gets NON_EMPTY_GROUP,
 * an unknown one GROUP_ID_NOT_FOUND.
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi } from './api.js';

export const deleteGroupsApi = defineApi({
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  handle(req, ctx) {
    return ctx.groups.deleteGroups(req.groupsNames).then((codes) => ({
      throttleTimeMs: 0,
      results: req.groupsNames.map((groupId, i) => ({ groupId, errorCode: codes[i]! })),
    }));
  },
});
