/**
 * Metadata (key 3), v0-12.
 *
 * Brokers: this node, at the advertised listener with the same name as the listener the
 * client came in on; an advertised host left empty is answered with the address the
 * client connected to, which it can reach by construction.
 * Topics: all of them for a null list (or an empty list at v0), else those named or (v10+)
 * identified by id. A missing topic is created when `auto.create.topics.enable` is on and
 * the request allows it (v4+) and the `topic.create.policy` hook does not refuse it (that
 * topic then gets the refusal's code), with `num.partitions` partitions; otherwise
 * UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID for ids). `__consumer_offsets` is reported
 * internal, as Kafka does, so clients leave it out of pattern subscriptions.
 */
import { KafkaError, type Kernel, type TopicDescription } from '@sluice/sdk';
import { ApiKey, isZeroUuid, ZERO_UUID } from '../protocol/index.js';
import type { MetadataResponse } from '../protocol/index.js';
import { defineApi, type RequestContext } from './api.js';
import { ErrorCode } from '../error-codes.js';
import { OFFSETS_TOPIC } from '../groups/offsets-store.js';
import { policyRefusal } from './19-create-topics.js';

/** Kafka's sentinel for "authorized operations not requested". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

type TopicEntry = MetadataResponse['topics'][number];

export const metadataApi = defineApi({
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 12,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const all = req.topics === null || (v === 0 && req.topics.length === 0);
    const topics: TopicEntry[] = [];
    if (all) {
      for (const t of ctx.kernel.listTopics()) topics.push(describe(ctx.kernel, t));
    } else {
      const allowCreate = ctx.config.autoCreateTopicsEnable && (v < 4 || req.allowAutoTopicCreation);
      for (const wanted of req.topics!) topics.push(await lookup(ctx, wanted.name, wanted.topicId, allowCreate));
    }
    const advertised = advertisedAddress(ctx);
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: ctx.broker.nodeId, host: advertised.host, port: advertised.port, rack: null }],
      clusterId: ctx.broker.clusterId,
      controllerId: ctx.broker.nodeId,
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});

async function lookup(ctx: RequestContext, name: string | null, topicId: Uint8Array, allowCreate: boolean): Promise<TopicEntry> {
  if (name === null) {
    const found = isZeroUuid(topicId) ? undefined : ctx.kernel.listTopics().find((t) => Buffer.compare(t.topicId, topicId) === 0);
    return found === undefined ? errorEntry(null, ErrorCode.UNKNOWN_TOPIC_ID, topicId) : describe(ctx.kernel, found);
  }
  const existing = ctx.kernel.describeTopic(name);
  if (existing !== undefined) return describe(ctx.kernel, existing);
  if (!allowCreate) return errorEntry(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  try {
    const refused = await policyRefusal(ctx, name, ctx.config.numPartitions, {}, 'Metadata', false);
    if (refused !== undefined) {
      ctx.log.info('topic auto-creation refused by policy', { topic: name, reason: refused.message, client: ctx.clientId });
      return errorEntry(name, refused.code);
    }
    const created = await ctx.kernel.createTopic(name, ctx.config.numPartitions, {});
    ctx.log.info('topic auto-created', { topic: name, partitions: created.partitions, client: ctx.clientId });
    return describe(ctx.kernel, created);
  } catch (err) {
    // Another request may have created it meanwhile.
    const raced = ctx.kernel.describeTopic(name);
    if (raced !== undefined) return describe(ctx.kernel, raced);
    return errorEntry(name, KafkaError.is(err) ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR);
  }
}

function errorEntry(name: string | null, errorCode: number, topicId: Uint8Array = ZERO_UUID): TopicEntry {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
}

function describe(kernel: Kernel, topic: TopicDescription): TopicEntry {
  return {
    errorCode: 0,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.name === OFFSETS_TOPIC,
    partitions: kernel.topicPartitions(topic.name).map((p) => ({
      errorCode: 0, partitionIndex: p.partition, leaderId: p.leader, leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas], isrNodes: [...p.isr], offlineReplicas: [],
    })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

export function advertisedAddress(ctx: RequestContext): { host: string; port: number } {
  const listener = ctx.broker.advertisedListeners.find((l) => l.name === ctx.connection.listener)
    ?? ctx.broker.listeners.find((l) => l.name === ctx.connection.listener);
  const host = listener?.host === undefined || listener.host === '' ? ctx.connection.localAddress.replace(/^::ffff:/, '') : listener.host;
  return { host, port: listener?.port ?? 9092 };
}
