/**
 * Topic changes the controller turns into records: create (validated and placed), delete,
 * add partitions, alter configs. Each planner checks a request against the image and
 * returns the records to commit with a result per topic; nothing changes until the
 * controller commits them. Validation is LogManager's: validateTopicName, the partition
 * bound, and validateTopicConfigs + toLogConfig on the resulting overrides.
 */
import {
  KafkaError,
  type AlterConfigsForward, type CreatePartitionsForward, type CreateTopicsForward, type DeleteTopicsForward, type Logger, type TopicResults,
} from '@sluice/sdk';
import { ConfigError } from '../config/config-def.js';
import { toLogConfig, validateTopicConfigs } from '../config/topic-config.js';
import { TOPIC_PARTITIONS_MAX, validateTopicName } from '../log/log-manager.js';
import { topicIdKey, type MetadataImage } from '../metadata/metadata-image.js';
import { NO_LEADER, RESOURCE_TOPIC, type MetadataRecord } from '../metadata/records.js';
import type { Random } from '../raft/random.js';
import { eligibleBrokers, isEligible } from './controller-brokers.js';
import { controllerError, ControllerErrorCode } from './controller-errors.js';
import { placeReplicas } from './placement.js';

/** Kafka's internal topics, whose replication factor comes from their own broker keys. */
export const OFFSETS_TOPIC = '__consumer_offsets';
export const TRANSACTION_STATE_TOPIC = '__transaction_state';
/** Kafka's bound on a replication factor (a short on the wire). */
const REPLICATION_FACTOR_MAX = 32767;
const TOPIC_ID_BYTES = 16;

export interface TopicSettings {
  /** Broker properties: topic configs resolve their broker synonyms from them. */
  readonly brokerProps: Readonly<Record<string, string>>;
  /** num.partitions: a topic created with -1 partitions. */
  readonly numPartitions: number;
  /** default.replication.factor: a topic created with replication factor -1. */
  readonly defaultReplicationFactor: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly transactionStateLogReplicationFactor: number;
  readonly deleteTopicEnable: boolean;
  /**
   * The metadata quorum has one voter (a single node): the internal topics' replication
   * factor is capped at the brokers alive, so Kafka's default of 3 works there. In a
   * multi-voter cluster it is not: an internal topic created while its brokers are still
   * joining would keep a replication factor of 1 for good, so creation waits (clients retry
   * FindCoordinator) until enough brokers are up, as in Kafka.
   */
  readonly capInternalReplicationFactor: boolean;
}

export interface TopicPlan {
  readonly records: MetadataRecord[];
  readonly results: TopicResults['results'][number][];
}

type Result = TopicResults['results'][number];

/** A topic's failed result; anything but a KafkaError is a bug and propagates. */
function failure(name: string, err: unknown): Result {
  if (KafkaError.is(err)) return { name, errorCode: err.code, errorMessage: err.message };
  throw err;
}

function checkTopicConfigs(brokerProps: Readonly<Record<string, string>>, configs: Readonly<Record<string, string>>): void {
  try {
    validateTopicConfigs(configs);
    toLogConfig(brokerProps, configs);
  } catch (err) {
    if (err instanceof ConfigError) throw controllerError('INVALID_CONFIG', err.message);
    throw err;
  }
}

function newTopicId(image: MetadataImage, random: Random): Uint8Array {
  for (;;) {
    const id = Buffer.alloc(TOPIC_ID_BYTES);
    for (let i = 0; i < TOPIC_ID_BYTES; i++) id[i] = random.nextInt(256);
    if (id.some((b) => b !== 0) && !image.topicsById.has(topicIdKey(id))) return id;
  }
}

/** A new partition's record: the ISR is its eligible replicas, the first of them leads. */
function partitionRecord(image: MetadataImage, topicId: Uint8Array, partitionId: number, replicas: readonly number[]): MetadataRecord {
  const isr = replicas.filter((id) => isEligible(image, id));
  if (isr.length === 0) {
    throw controllerError('INVALID_REPLICA_ASSIGNMENT', `no replica of partition ${partitionId} is on an unfenced broker`);
  }
  return { type: 'partition', topicId, partitionId, replicas: [...replicas], isr, leader: isr[0] ?? NO_LEADER, leaderEpoch: 0, partitionEpoch: 0 };
}

export function planCreateTopics(
  image: MetadataImage, req: CreateTopicsForward, settings: TopicSettings, random: Random, log: Logger,
): TopicPlan {
  const records: MetadataRecord[] = [];
  const results: Result[] = [];
  const taken = new Map([...image.topicsByName.keys()].map((n) => [n.replace(/\./g, '_'), n]));
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  for (const t of req.topics) {
    try {
      if (counts.get(t.name)! > 1) throw controllerError('INVALID_REQUEST', `topic ${t.name} is listed more than once`);
      validateTopicName(t.name);
      if (image.topicsByName.has(t.name)) throw controllerError('TOPIC_ALREADY_EXISTS', `topic ${t.name} already exists`);
      const collision = taken.get(t.name.replace(/\./g, '_'));
      if (collision !== undefined) {
        throw controllerError('INVALID_TOPIC_EXCEPTION', `topic ${t.name} collides with ${collision} ('.' and '_' clash in metric names)`);
      }
      const assignment = replicaLists(image, t, settings, random, log);
      checkTopicConfigs(settings.brokerProps, t.configs);
      const topicId = newTopicId(image, random);
      const topicRecords: MetadataRecord[] = [{ type: 'topic', name: t.name, topicId }];
      assignment.forEach((replicas, p) => topicRecords.push(partitionRecord(image, topicId, p, replicas)));
      for (const [name, value] of Object.entries(t.configs)) {
        topicRecords.push({ type: 'config', resourceType: RESOURCE_TOPIC, resourceName: t.name, name, value });
      }
      taken.set(t.name.replace(/\./g, '_'), t.name);
      if (!req.validateOnly) records.push(...topicRecords);
      results.push({ name: t.name, errorCode: 0, errorMessage: null });
    } catch (err) {
      results.push(failure(t.name, err));
    }
  }
  return { records, results };
}

function replicaLists(
  image: MetadataImage, t: CreateTopicsForward['topics'][number], settings: TopicSettings, random: Random, log: Logger,
): number[][] {
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      throw controllerError('INVALID_REQUEST', 'a topic with explicit assignments must leave partitions and replication factor at -1');
    }
    return explicitAssignment(image, t.assignments);
  }
  const partitions = t.numPartitions === -1 ? settings.numPartitions : t.numPartitions;
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > TOPIC_PARTITIONS_MAX) {
    throw controllerError('INVALID_PARTITIONS', `partitions must be between 1 and ${TOPIC_PARTITIONS_MAX}, got ${partitions}`);
  }
  const brokers = eligibleBrokers(image);
  let rf = t.replicationFactor === -1 ? settings.defaultReplicationFactor : t.replicationFactor;
  if (t.name === OFFSETS_TOPIC || t.name === TRANSACTION_STATE_TOPIC) {
    if (t.replicationFactor === -1) {
      rf = t.name === OFFSETS_TOPIC ? settings.offsetsTopicReplicationFactor : settings.transactionStateLogReplicationFactor;
    }
    if (settings.capInternalReplicationFactor && rf > brokers.length && brokers.length > 0) {
      log.warn(`${t.name}: replication factor ${rf} capped at the ${brokers.length} brokers alive`, { topic: t.name });
      rf = brokers.length;
    }
  }
  if (!Number.isInteger(rf) || rf < 1 || rf > REPLICATION_FACTOR_MAX) {
    throw controllerError('INVALID_REPLICATION_FACTOR', `replication factor must be between 1 and ${REPLICATION_FACTOR_MAX}, got ${rf}`);
  }
  return placeReplicas(brokers, partitions, rf, random.nextInt(Math.max(1, brokers.length)));
}

function explicitAssignment(image: MetadataImage, assignments: CreateTopicsForward['topics'][number]['assignments']): number[][] {
  const byIndex = new Map(assignments.map((a) => [a.partitionIndex, a.brokerIds]));
  if (byIndex.size !== assignments.length || assignments.length > TOPIC_PARTITIONS_MAX) {
    throw controllerError('INVALID_REPLICA_ASSIGNMENT', 'a partition is assigned more than once');
  }
  const out: number[][] = [];
  for (let p = 0; p < assignments.length; p++) {
    const ids = byIndex.get(p);
    if (ids === undefined) throw controllerError('INVALID_REPLICA_ASSIGNMENT', `partitions must be numbered from 0 without gaps; ${p} is missing`);
    if (ids.length === 0 || new Set(ids).size !== ids.length) {
      throw controllerError('INVALID_REPLICA_ASSIGNMENT', `partition ${p} needs distinct replicas`);
    }
    if (ids.length !== byIndex.get(0)!.length) {
      throw controllerError('INVALID_REPLICA_ASSIGNMENT', 'every partition needs the same number of replicas');
    }
    const unknown = ids.find((id) => !image.brokers.has(id));
    if (unknown !== undefined) throw controllerError('INVALID_REPLICA_ASSIGNMENT', `broker ${unknown} is not registered`);
    out.push([...ids]);
  }
  return out;
}

export function planDeleteTopics(image: MetadataImage, req: DeleteTopicsForward, settings: TopicSettings): TopicPlan {
  const records: MetadataRecord[] = [];
  const results: Result[] = [];
  for (const name of new Set(req.names)) {
    const topic = image.topicsByName.get(name);
    if (!settings.deleteTopicEnable) {
      results.push({ name, errorCode: ControllerErrorCode.TOPIC_DELETION_DISABLED, errorMessage: 'delete.topic.enable is false' });
    } else if (topic === undefined) {
      results.push({ name, errorCode: ControllerErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${name} does not exist` });
    } else {
      records.push({ type: 'remove-topic', topicId: topic.topicId });
      results.push({ name, errorCode: 0, errorMessage: null });
    }
  }
  return { records, results };
}

/** New partitions get the replication factor of the topic's first partition, placed like a new topic's. */
export function planCreatePartitions(image: MetadataImage, req: CreatePartitionsForward, random: Random): TopicPlan {
  const records: MetadataRecord[] = [];
  const results: Result[] = [];
  for (const t of req.topics) {
    try {
      const topic = image.topicsByName.get(t.name);
      if (topic === undefined) throw controllerError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${t.name} does not exist`);
      const current = topic.partitions.size;
      if (!Number.isSafeInteger(t.count) || t.count <= current || t.count > TOPIC_PARTITIONS_MAX) {
        throw controllerError('INVALID_PARTITIONS', `topic ${t.name} has ${current} partitions; the new count must be larger (got ${t.count})`);
      }
      const brokers = eligibleBrokers(image);
      const rf = topic.partitions.get(0)?.replicas.length ?? 1;
      const lists = placeReplicas(brokers, t.count - current, rf, random.nextInt(Math.max(1, brokers.length)), current);
      const topicRecords = lists.map((replicas, i) => partitionRecord(image, topic.topicId, current + i, replicas));
      if (!req.validateOnly) records.push(...topicRecords);
      results.push({ name: t.name, errorCode: 0, errorMessage: null });
    } catch (err) {
      results.push(failure(t.name, err));
    }
  }
  return { records, results };
}

/** Validated as a whole per topic: an invalid key or value changes nothing of that topic. */
export function planAlterConfigs(image: MetadataImage, req: AlterConfigsForward, settings: TopicSettings): TopicPlan {
  const records: MetadataRecord[] = [];
  const results: Result[] = [];
  for (const r of req.resources) {
    try {
      const topic = image.topicsByName.get(r.name);
      if (topic === undefined) throw controllerError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${r.name} does not exist`);
      const next = Object.fromEntries(topic.configs);
      for (const [key, value] of Object.entries(r.changes)) {
        if (value === null) delete next[key];
        else next[key] = value;
      }
      checkTopicConfigs(settings.brokerProps, next);
      if (!req.validateOnly) {
        for (const [name, value] of Object.entries(r.changes)) {
          records.push({ type: 'config', resourceType: RESOURCE_TOPIC, resourceName: r.name, name, value });
        }
      }
      results.push({ name: r.name, errorCode: 0, errorMessage: null });
    } catch (err) {
      results.push(failure(r.name, err));
    }
  }
  return { records, results };
}
