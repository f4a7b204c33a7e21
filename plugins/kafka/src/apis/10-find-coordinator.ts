/**
 * FindCoordinator (key 10), v0-6.
 *
 * As in Kafka, the coordinator of a group (key type 0) is the leader of its partition of
 * `__consumer_offsets`, and of a transactional id (1) the leader of its partition of
 * `__transaction_state`, read from the metadata; it is answered at the address Metadata
 * gives that broker (cluster/broker-endpoints.ts: the listener named like the client's).
 * COORDINATOR_NOT_AVAILABLE, which clients retry, while the partition has no leader or the
 * topic does not exist yet (its creation is asked for then). The leader may still be
 * loading the partition: its group and transaction APIs answer COORDINATOR_LOAD_IN_PROGRESS.
 * Share groups (2) and unknown key types get INVALID_REQUEST. v4+ asks for many keys at
 * once (KIP-699) and is answered per key.
 */
import { ApiKey } from '../protocol/index.js';
import { GroupError } from '../groups/errors.js';
import { createOffsetsTopic, OFFSETS_TOPIC } from '../groups/offsets-store.js';
import { createTransactionStateTopic, TRANSACTION_STATE_TOPIC } from '../transactions/state-log.js';
import { brokerEndpoint, liveBrokers } from '../cluster/broker-endpoints.js';
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
  if (keyType !== KEY_TYPE_GROUP && keyType !== KEY_TYPE_TRANSACTION) return fail(GroupError.INVALID_REQUEST, `key type ${keyType} is not supported`);
  const group = keyType === KEY_TYPE_GROUP;
  const topic = group ? OFFSETS_TOPIC : TRANSACTION_STATE_TOPIC;
  const partitions = ctx.kernel.topicPartitions(topic);
  if (partitions.length === 0) {
    const created = group
      ? createOffsetsTopic(ctx.kernel, ctx.groups.config, ctx.log)
      : createTransactionStateTopic(ctx.kernel, ctx.transactions.config, ctx.log);
    created.catch((err: unknown) => ctx.log.warn('creating a coordinator topic failed', { topic, error: String(err) }));
    return fail(GroupError.COORDINATOR_NOT_AVAILABLE, `${topic} does not exist yet`);
  }
  const partition = group ? ctx.groups.partitionFor(key) : ctx.transactions.partitionFor(key);
  const leader = partitions.find((p) => p.partition === partition)?.leader ?? -1;
  if (leader < 0) return fail(GroupError.COORDINATOR_NOT_AVAILABLE, `${topic}-${partition} has no leader`);
  const broker = liveBrokers(ctx).find((b) => b.nodeId === leader);
  if (broker === undefined) return fail(GroupError.COORDINATOR_NOT_AVAILABLE, `broker ${leader} is not available`);
  const { host, port } = brokerEndpoint(ctx, broker);
  return { key, nodeId: leader, host, port, errorCode: GroupError.NONE, errorMessage: null };
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
