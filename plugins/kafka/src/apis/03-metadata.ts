/**
 * Metadata (key 3), v0-12.
 *
 * Brokers: the unfenced brokers of the cluster (`Kernel.brokers()`), each at its advertised
 * listener with the same name as the listener the client came in on (see
 * cluster/broker-endpoints.ts; for this node an advertised host left empty is answered with
 * the address the client connected to, which it can reach by construction). The
 * controller is the active controller when it is one of those brokers, else this node:
 * clients send admin requests to the controller Metadata names, and any broker forwards
 * them to the active one (Kafka's KRaft brokers name a live broker likewise, so a
 * controller-only node or an election under way never leaves a client without one; the
 * quorum itself is described by DescribeCluster and DescribeQuorum). Partitions: leader, leader
 * epoch, replicas and ISR as the cluster's metadata has them; replicas on no live broker
 * are offline; a partition without a leader gets LEADER_NOT_AVAILABLE.
 * Topics: all of them for a null list (or an empty list at v0), else those named or (v10+)
 * identified by id. A missing topic is created when `auto.create.topics.enable` is on and
 * the request allows it (v4+) and the `topic.create.policy` hook does not refuse it (that
 * topic then gets the refusal's code), with `num.partitions` partitions (one the controller
 * already has but this node's metadata does not show yet gets LEADER_NOT_AVAILABLE, retriable);
 * otherwise UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID for ids). `__consumer_offsets` is reported
 * internal, as Kafka does, so clients leave it out of pattern subscriptions.
 */
import { KafkaError, type Kernel, type TopicDescription } from '@sluice/sdk';
import { ApiKey, isZeroUuid, ZERO_UUID } from '../protocol/index.js';
import type { MetadataResponse } from '../protocol/index.js';
import { defineApi, type RequestContext } from './api.js';
import { ErrorCode } from '../error-codes.js';
import { OFFSETS_TOPIC } from '../groups/offsets-store.js';
import { policyRefusal } from './19-create-topics.js';
import { advertisedAddress, brokerEndpoint, liveBrokers, offlineReplicas } from '../cluster/broker-endpoints.js';

export { advertisedAddress };

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
    const brokers = liveBrokers(ctx);
    const live = new Set(brokers.map((b) => b.nodeId));
    if (all) {
      for (const t of ctx.kernel.listTopics()) topics.push(describe(ctx.kernel, t, live));
    } else {
      const allowCreate = ctx.config.autoCreateTopicsEnable && (v < 4 || req.allowAutoTopicCreation);
      for (const wanted of req.topics!) topics.push(await lookup(ctx, wanted.name, wanted.topicId, allowCreate, live));
    }
    return {
      throttleTimeMs: 0,
      brokers: brokers.map((b) => brokerEndpoint(ctx, b)),
      clusterId: ctx.broker.clusterId,
      controllerId: live.has(ctx.kernel.controllerId()) ? ctx.kernel.controllerId() : ctx.broker.nodeId,
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});

async function lookup(ctx: RequestContext, name: string | null, topicId: Uint8Array, allowCreate: boolean,
  live: ReadonlySet<number>): Promise<TopicEntry> {
  if (name === null) {
    const found = isZeroUuid(topicId) ? undefined : ctx.kernel.listTopics().find((t) => Buffer.compare(t.topicId, topicId) === 0);
    return found === undefined ? errorEntry(null, ErrorCode.UNKNOWN_TOPIC_ID, topicId) : describe(ctx.kernel, found, live);
  }
  const existing = ctx.kernel.describeTopic(name);
  if (existing !== undefined) return describe(ctx.kernel, existing, live);
  if (!allowCreate) return errorEntry(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  try {
    const refused = await policyRefusal(ctx, name, ctx.config.numPartitions, {}, 'Metadata', false);
    if (refused !== undefined) {
      ctx.log.info('topic auto-creation refused by policy', { topic: name, reason: refused.message, client: ctx.clientId });
      return errorEntry(name, refused.code);
    }
    const created = await ctx.kernel.createTopic(name, ctx.config.numPartitions, {});
    ctx.log.info('topic auto-created', { topic: name, partitions: created.partitions, client: ctx.clientId });
    return describe(ctx.kernel, created, live);
  } catch (err) {
    // Another request may have created it meanwhile.
    const raced = ctx.kernel.describeTopic(name);
    if (raced !== undefined) return describe(ctx.kernel, raced, live);
    const code = KafkaError.is(err) ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
    // The controller has the topic and this node's metadata has not caught up with it yet:
    // a retriable answer, as Kafka gives for a topic being created (TOPIC_ALREADY_EXISTS
    // would make librdkafka fail every produce to the topic).
    return errorEntry(name, code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.LEADER_NOT_AVAILABLE : code);
  }
}

function errorEntry(name: string | null, errorCode: number, topicId: Uint8Array = ZERO_UUID): TopicEntry {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
}

function describe(kernel: Kernel, topic: TopicDescription, live: ReadonlySet<number>): TopicEntry {
  return {
    errorCode: 0,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.name === OFFSETS_TOPIC,
    partitions: kernel.topicPartitions(topic.name).map((p) => ({
      errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : 0, partitionIndex: p.partition, leaderId: p.leader, leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas], isrNodes: [...p.isr], offlineReplicas: offlineReplicas(p, live),
    })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}
