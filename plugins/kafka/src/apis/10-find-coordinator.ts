/**
 * FindCoordinator (key 10), v0-6.
 *
 * Group keys (key type 0) are coordinated by this node once the group's partition of
 * `__consumer_offsets` is loaded (COORDINATOR_NOT_AVAILABLE before, which clients retry).
 * Transaction keys (1) are coordinated by this node once `__transaction_state` is loaded;
 * share groups (2) and unknown key types get INVALID_REQUEST. v4+ asks for many
 * keys at once (KIP-699) and is answered per key.
 */
import { ApiKey } from '../protocol/index.js';
import { GroupError } from '../groups/errors.js';
import { advertisedAddress } from './03-metadata.js';
import { defineApi, type RequestContext } from './api.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;
const BATCHED_VERSION = 4;

interface Found {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

function find(ctx: RequestContext, key: string, keyType: number): Found {
  const fail = (errorCode: number, errorMessage: string): Found => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  if (keyType === KEY_TYPE_TRANSACTION) {
    if (!ctx.transactions.coordinates()) return fail(GroupError.COORDINATOR_NOT_AVAILABLE, 'the transaction coordinator is not available');
  } else if (keyType !== KEY_TYPE_GROUP) {
    return fail(GroupError.INVALID_REQUEST, `key type ${keyType} is not supported`);
  } else if (!ctx.groups.coordinates(key)) {
    return fail(GroupError.COORDINATOR_NOT_AVAILABLE, 'the group coordinator is not available');
  }
  const { host, port } = advertisedAddress(ctx);
  return { key, nodeId: ctx.broker.nodeId, host, port, errorCode: GroupError.NONE, errorMessage: null };
}

export const findCoordinatorApi = defineApi({
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 6,
  handle(req, ctx) {
    if (ctx.apiVersion >= BATCHED_VERSION) {
      return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((k) => find(ctx, k, req.keyType)) };
    }
    const f = find(ctx, req.key, req.keyType);
    return { throttleTimeMs: 0, errorCode: f.errorCode, errorMessage: f.errorMessage, nodeId: f.nodeId, host: f.host, port: f.port };
  },
});
