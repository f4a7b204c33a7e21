/**
 * CreateTopics (key 19), v0-7.
 *
 * Each topic is created (or, with `validate_only`, v1+, only checked) by the kernel, which
 * rejects bad names (INVALID_TOPIC_EXCEPTION), existing topics (TOPIC_ALREADY_EXISTS),
 * partition counts (INVALID_PARTITIONS) and configs (INVALID_CONFIG). `num_partitions` -1
 * means `num.partitions` and `replication_factor` -1 means `default.replication.factor`
 * (KIP-464) in every version, as Kafka's brokers accept it: KIP-464 only lifted a check
 * in Java clients, and KafkaJS sends -1 at v3. A replication factor above the number of
 * unfenced brokers gets INVALID_REPLICATION_FACTOR (on a single node: above 1), and a
 * manual assignment must number partitions 0 to N-1, give each the same number of
 * distinct replicas, all on unfenced brokers (else INVALID_REPLICA_ASSIGNMENT); with an
 * assignment, both counts must be -1 (else INVALID_REQUEST). Replication factor and
 * assignment go to the kernel, whose controller places the replicas. Those refusals are reported only after
 * the kernel's checks pass, so a bad name or an existing topic is named first, as Kafka
 * orders them. A name given twice in one request gets INVALID_REQUEST, once, and is not
 * created. A topic that passes those checks is put to the `topic.create.policy` hook
 * (Kafka's create.topic.policy), also with `validate_only`; a refusal is that topic's
 * error, POLICY_VIOLATION unless the handler names another code.
 * v1+ carry an error message; v5+ (KIP-525) return the partition count, replication
 * factor and every config with its source; v7 the new topic's id (zero for validate_only,
 * as nothing was created).
 */
import type { TopicCreateInput } from '@sluice/sdk';
import type { Decoded } from '../protocol/reader.js';
import { ApiKey, ZERO_UUID, type CreateTopicsRequest, type CreateTopicsResponse } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineApi, type RequestContext } from './api.js';
import { configSourceId } from './32-describe-configs.js';
import { liveBrokers } from '../cluster/broker-endpoints.js';

type Topic = Decoded<CreateTopicsRequest['topics'][number]>;
type TopicResult = CreateTopicsResponse['topics'][number];
export interface Refusal {
  readonly code: number;
  readonly message: string;
}

const CONFIGS_IN_RESPONSE_MIN_VERSION = 5;

export const createTopicsApi = defineApi({
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  async handle(req, ctx) {
    const validateOnly = ctx.apiVersion >= 1 && req.validateOnly;
    const repeated = duplicates(req.topics.map((t) => t.name));
    const topics = await Promise.all(firstOfEach(req.topics, (t) => t.name).map((t) => repeated.has(t.name)
      ? failed(t.name, { code: ErrorCode.INVALID_REQUEST, message: `topic ${t.name} appears more than once in the request` })
      : createOne(ctx, t, validateOnly)));
    return { throttleTimeMs: 0, topics };
  },
});

/** The values that occur more than once. */
export function duplicates<T>(values: readonly T[]): Set<T> {
  const seen = new Set<T>();
  const twice = new Set<T>();
  for (const value of values) (seen.has(value) ? twice : seen).add(value);
  return twice;
}

/** `items` without later repeats of a key, in request order: one result per name. */
export function firstOfEach<T, K>(items: readonly T[], key: (item: T) => K): T[] {
  const seen = new Set<K>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

async function createOne(ctx: RequestContext, t: Topic, validateOnly: boolean): Promise<TopicResult> {
  const { partitions, replicationFactor, configs, refusal } = plan(ctx, t);
  try {
    if (refusal !== undefined) {
      await ctx.kernel.createTopic(t.name, partitions, configs, { validateOnly: true });
      return failed(t.name, refusal);
    }
    const refused = await policyRefusal(ctx, t.name, partitions, configs, 'CreateTopics', validateOnly);
    if (refused !== undefined) return failed(t.name, refused);
    const created = await ctx.kernel.createTopic(t.name, partitions, configs, {
      validateOnly, replicationFactor, ...(t.assignments.length > 0 ? { assignments: t.assignments } : {}),
    });
    if (!validateOnly) ctx.log.info('topic created', { topic: t.name, partitions, client: ctx.clientId });
    return {
      name: t.name,
      topicId: validateOnly ? ZERO_UUID : created.topicId,
      errorCode: 0,
      errorMessage: null,
      numPartitions: created.partitions,
      replicationFactor,
      configs: ctx.apiVersion < CONFIGS_IN_RESPONSE_MIN_VERSION ? [] : ctx.kernel.describeTopicConfigsFor(configs).map((e) => ({
        name: e.name, value: e.sensitive ? null : e.value, readOnly: e.readOnly, configSource: configSourceId(e.source),
        isSensitive: e.sensitive,
      })),
    };
  } catch (err) {
    return failed(t.name, { code: errorCodeOf(err), message: (err as Error).message });
  }
}

/**
 * What the `topic.create.policy` handlers say of a topic the client asks for, after the
 * kernel's own checks (so a bad name or an existing topic is reported as such, not as a
 * policy matter). With no handler, nothing is checked twice.
 */
export async function policyRefusal(ctx: RequestContext, topic: string, partitions: number, configs: Record<string, string>,
  via: TopicCreateInput['via'], validateOnly: boolean): Promise<Refusal | undefined> {
  if (!ctx.hooks.hasHandlers('topic.create.policy')) return undefined;
  await ctx.kernel.createTopic(topic, partitions, configs, { validateOnly: true });
  const decision = await ctx.hooks.runFirst('topic.create.policy', {
    connection: ctx.connection, principal: ctx.principal, clientId: ctx.clientId, topic, partitions, configs, via, validateOnly,
  });
  if (decision.outcome !== 'reject') return undefined;
  return { code: decision.errorCode, message: decision.reason ?? `topic ${topic} breaks the create topic policy` };
}

function plan(ctx: RequestContext, t: Topic):
  { partitions: number; replicationFactor: number; configs: Record<string, string>; refusal: Refusal | undefined } {
  let partitions = t.numPartitions;
  let replicationFactor = t.replicationFactor;
  let refusal: Refusal | undefined;
  const live = new Set(liveBrokers(ctx).map((b) => b.nodeId));
  if (t.assignments.length > 0) {
    partitions = t.assignments.length;
    replicationFactor = t.assignments[0]!.brokerIds.length;
    refusal = t.numPartitions !== -1 || t.replicationFactor !== -1
      ? { code: ErrorCode.INVALID_REQUEST, message: 'num_partitions and replication_factor must be -1 when replica assignments are given' }
      : assignmentRefusal(live, t.assignments);
  } else {
    if (partitions === -1) partitions = ctx.config.numPartitions;
    if (replicationFactor === -1) replicationFactor = ctx.config.defaultReplicationFactor;
    if (replicationFactor < 1) {
      refusal = {
        code: ErrorCode.INVALID_REPLICATION_FACTOR,
        message: `replication factor must be at least 1, or -1 for default.replication.factor, got ${replicationFactor}`,
      };
    } else if (replicationFactor > live.size) {
      refusal = {
        code: ErrorCode.INVALID_REPLICATION_FACTOR,
        message: `replication factor ${replicationFactor} is larger than the number of available brokers (${live.size})`,
      };
    }
  }
  const configs = new Map<string, string>();
  for (const c of t.configs) {
    if (c.value === null) refusal ??= { code: ErrorCode.INVALID_CONFIG, message: `config ${c.name} has a null value` };
    else if (configs.has(c.name)) refusal ??= { code: ErrorCode.INVALID_CONFIG, message: `config ${c.name} is given more than once` };
    else configs.set(c.name, c.value);
  }
  return { partitions, replicationFactor, configs: Object.fromEntries(configs), refusal };
}

function assignmentRefusal(live: ReadonlySet<number>, assignments: Topic['assignments']): Refusal | undefined {
  const indexes = new Set(assignments.map((a) => a.partitionIndex));
  for (let i = 0; i < assignments.length; i++) {
    if (!indexes.has(i)) {
      return { code: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: 'assigned partition indexes must be 0 to N-1, each once' };
    }
  }
  const replicas = assignments[0]!.brokerIds.length;
  const bad = assignments.find((a) => a.brokerIds.length === 0 || a.brokerIds.length !== replicas
    || new Set(a.brokerIds).size !== a.brokerIds.length || a.brokerIds.some((id) => !live.has(id)));
  if (bad === undefined) return undefined;
  return {
    code: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    message: `partition ${bad.partitionIndex} is assigned to brokers [${bad.brokerIds.join(', ')}]: every partition needs the same number of `
      + `distinct replicas on available brokers [${[...live].join(', ')}]`,
  };
}

function failed(name: string, refusal: Refusal): TopicResult {
  return {
    name, topicId: ZERO_UUID, errorCode: refusal.code, errorMessage: refusal.message, numPartitions: -1, replicationFactor: -1,
    configs: null,
  };
}
