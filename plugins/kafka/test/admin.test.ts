/**
 * The admin APIs against a real broker process, driven by three real admin clients that
 * speak different versions: KafkaJS 2.2.4 (CreateTopics v3, DeleteTopics v1, DescribeConfigs
 * v2, AlterConfigs v1, CreatePartitions v1, DeleteRecords v1), @platformatic/kafka (the
 * flexible versions: CreateTopics v7, DeleteTopics v6, DescribeConfigs v4,
 * IncrementalAlterConfigs v1, DescribeLogDirs v4, DeleteRecords v2, and DescribeCluster,
 * OffsetForLeaderEpoch and DescribeProducers through its protocol functions) and
 * kafka-python's KafkaAdminClient (CreateTopics v3, DescribeConfigs v2 with synonyms,
 * AlterConfigs v1, CreatePartitions v1, DeleteTopics v3). Errors are provoked between
 * successful calls, so the broker is seen to keep serving after each.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin as KafkaJsAdmin } from 'kafkajs';
import {
  Admin, Connection, ConfigResourceTypes, ConfigSources, ConfigTypes, IncrementalAlterConfigOperationTypes,
  describeClusterV1, describeConfigsV4, describeProducersV0,
} from '@platformatic/kafka';
import { ApiKey, encodeRequest, readResponseFrame, type KnownApiKey, type RequestOf } from '../src/protocol/index.js';
import { REPO_ROOT, startBroker, type BrokerProcess } from './broker-process.js';

const PYTHON = '/usr/bin/python3';
const PYTHON_SCRIPT = join(REPO_ROOT, 'plugins/kafka/test/clients/kafka_python_admin.py');
/** Broker-level default that topics inherit: DescribeConfigs must report it as STATIC_BROKER_CONFIG. */
const BROKER_RETENTION_MS = '86400000';

let broker: BrokerProcess;
let kafka: Kafka;
let kafkajsAdmin: KafkaJsAdmin;

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'log.retention.ms': BROKER_RETENTION_MS, 'num.partitions': '2' } });
  // Few quick retries: errors under test (UNKNOWN_TOPIC_OR_PARTITION is retriable) come back fast.
  kafka = new Kafka({
    clientId: 'sluice-admin-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 },
  });
  kafkajsAdmin = kafka.admin();
  await kafkajsAdmin.connect();
});

afterAll(async () => {
  await kafkajsAdmin?.disconnect();
  expect(await broker?.stop()).toBe(0);
});

async function produce(topic: string, partition: number, count: number, idempotent = false): Promise<void> {
  const producer = kafka.producer({ idempotent, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ partition, value: `m${i}` })) });
  } finally {
    await producer.disconnect();
  }
}

/** KafkaJS's errors carry the Kafka error name in `type`, aggregated ones in `errors`, retried ones in `cause`. */
async function kafkajsErrorTypes(call: Promise<unknown>): Promise<string[]> {
  type KafkaJsError = { type?: string; errors?: KafkaJsError[]; cause?: KafkaJsError };
  const err = await call.then(() => undefined, (e: unknown) => e as KafkaJsError);
  const types = (e: KafkaJsError): string[] =>
    e.errors !== undefined ? e.errors.flatMap(types) : e.cause !== undefined ? types(e.cause) : [e.type ?? '?'];
  return err === undefined ? [] : types(err);
}

/**
 * One request on its own connection, encoded and decoded with the frontend's codecs: for
 * APIs no installed client sends correctly (@platformatic/kafka 1.x reads OffsetForLeaderEpoch
 * partitions with the error code and partition index swapped).
 */
async function rawRequest<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>) {
  const socket = connect(broker.port, '127.0.0.1');
  try {
    socket.write(encodeRequest(apiKey, version, 1, 'sluice-admin-test', body));
    let buffered = Buffer.alloc(0);
    for await (const chunk of socket) {
      buffered = Buffer.concat([buffered, chunk as Buffer]);
      if (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) break;
    }
    return readResponseFrame(buffered.subarray(4, 4 + buffered.readInt32BE(0)), apiKey, version).body;
  } finally {
    socket.destroy();
  }
}

/** The Kafka error names in a @platformatic/kafka error, however deeply it nests them. */
async function platformaticErrorIds(call: Promise<unknown>): Promise<string[]> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  const ids: string[] = [];
  const walk = (e: unknown): void => {
    const { apiId, errors } = e as { apiId?: string; errors?: unknown[] };
    if (apiId !== undefined) ids.push(apiId);
    for (const inner of errors ?? []) walk(inner);
  };
  if (err !== undefined) walk(err);
  return ids;
}

describe.sequential('KafkaJS admin', () => {
  const topic = 'kjs-orders';

  it('validates without creating, then creates with configs', async () => {
    // No leaders to wait for: nothing was created.
    expect(await kafkajsAdmin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic, numPartitions: 3 }] })).toBe(true);
    expect(await kafkajsAdmin.listTopics()).not.toContain(topic);
    expect(await kafkajsAdmin.createTopics({
      topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'delete,compact' }] }],
    })).toBe(true);
    const metadata = await kafkajsAdmin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
  });

  it('answers TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_CONFIG and INVALID_REPLICATION_FACTOR', async () => {
    // KafkaJS turns TOPIC_ALREADY_EXISTS into `false` rather than an error.
    expect(await kafkajsAdmin.createTopics({ topics: [{ topic }] })).toBe(false);
    expect(await kafkajsErrorTypes(kafkajsAdmin.createTopics({ topics: [{ topic: 'no/slashes' }] }))).toEqual(['INVALID_TOPIC_EXCEPTION']);
    expect(await kafkajsErrorTypes(kafkajsAdmin.createTopics({
      topics: [{ topic: 'kjs-bad-config', configEntries: [{ name: 'cleanup.policy', value: 'shred' }] }],
    }))).toEqual(['INVALID_CONFIG']);
    expect(await kafkajsErrorTypes(kafkajsAdmin.createTopics({ topics: [{ topic: 'kjs-rf3', replicationFactor: 3 }] })))
      .toEqual(['INVALID_REPLICATION_FACTOR']);
    expect(await kafkajsAdmin.listTopics()).toEqual(expect.not.arrayContaining(['kjs-bad-config', 'kjs-rf3']));
  });

  it('describes topic configs with sources and synonyms', async () => {
    const { resources } = await kafkajsAdmin.describeConfigs({
      includeSynonyms: true,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy', 'segment.bytes'] }],
    });
    const byName = new Map(resources[0]!.configEntries.map((e) => [e.configName, e]));
    expect([...byName.keys()].sort()).toEqual(['cleanup.policy', 'retention.ms', 'segment.bytes']);
    expect(byName.get('retention.ms')).toMatchObject({ configValue: '3600000', configSource: ConfigSources.TOPIC_CONFIG, isDefault: false });
    expect(byName.get('retention.ms')!.configSynonyms).toEqual([
      { configName: 'retention.ms', configValue: '3600000', configSource: ConfigSources.TOPIC_CONFIG },
      { configName: 'log.retention.ms', configValue: BROKER_RETENTION_MS, configSource: ConfigSources.STATIC_BROKER_CONFIG },
      { configName: 'log.retention.ms', configValue: '604800000', configSource: ConfigSources.DEFAULT_CONFIG },
    ]);
    expect(byName.get('segment.bytes')).toMatchObject({ configValue: '1073741824', configSource: ConfigSources.DEFAULT_CONFIG });
  });

  it('describes the broker by node id', async () => {
    const { resources } = await kafkajsAdmin.describeConfigs({
      includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['log.retention.ms', 'num.partitions'] }],
    });
    expect(resources[0]!.configEntries.map((e) => [e.configName, e.configValue, e.configSource, e.readOnly]).sort()).toEqual([
      ['log.retention.ms', BROKER_RETENTION_MS, ConfigSources.STATIC_BROKER_CONFIG, true],
      ['num.partitions', '2', ConfigSources.STATIC_BROKER_CONFIG, true],
    ]);
  });

  it('alters configs with replace semantics: keys not given are removed', async () => {
    await kafkajsAdmin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'segment.bytes', value: '1048576' }] }] });
    const { resources } = await kafkajsAdmin.describeConfigs({
      includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy', 'segment.bytes'] }],
    });
    expect(Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, [e.configValue, e.configSource]]))).toEqual({
      'segment.bytes': ['1048576', ConfigSources.TOPIC_CONFIG],
      'retention.ms': [BROKER_RETENTION_MS, ConfigSources.STATIC_BROKER_CONFIG],
      'cleanup.policy': ['delete', ConfigSources.DEFAULT_CONFIG],
    });
    expect(await kafkajsErrorTypes(kafkajsAdmin.alterConfigs({
      validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'segment.bytes', value: '12' }] }],
    }))).toEqual(['INVALID_CONFIG']);
    expect(await kafkajsErrorTypes(kafkajsAdmin.alterConfigs({
      validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'num.partitions', value: '3' }] }],
    }))).toEqual(['INVALID_REQUEST']);
  });

  it('adds partitions', async () => {
    await kafkajsAdmin.createPartitions({ validateOnly: true, topicPartitions: [{ topic, count: 6 }] });
    expect((await kafkajsAdmin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions).toHaveLength(3);
    await kafkajsAdmin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });
    expect((await kafkajsAdmin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions).toHaveLength(5);
    expect(await kafkajsErrorTypes(kafkajsAdmin.createPartitions({ topicPartitions: [{ topic, count: 4 }] }))).toEqual(['INVALID_PARTITIONS']);
  });

  it('deletes records: the earliest offset moves', async () => {
    await produce(topic, 0, 10);
    await kafkajsAdmin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
    const offsets = await kafkajsAdmin.fetchTopicOffsets(topic);
    expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '4', high: '10' });
    // -1: up to the high watermark.
    await kafkajsAdmin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] });
    expect((await kafkajsAdmin.fetchTopicOffsets(topic)).find((o) => o.partition === 0)).toMatchObject({ low: '10', high: '10' });
  });

  it('deletes topics', async () => {
    await kafkajsAdmin.deleteTopics({ topics: [topic] });
    expect(await kafkajsAdmin.listTopics()).not.toContain(topic);
    expect(await kafkajsErrorTypes(kafkajsAdmin.deleteTopics({ topics: [topic], timeout: 1000 }))).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
  });
});

describe.sequential('@platformatic/kafka admin', () => {
  const topic = 'pf-events';
  let admin: Admin;

  beforeAll(() => {
    admin = new Admin({ clientId: 'sluice-admin-test', bootstrapBrokers: [broker.bootstrap], retries: 0 });
  });

  afterAll(async () => {
    await admin?.close();
  });

  it('creates a topic and gets back its id, counts and configs (CreateTopics v7)', async () => {
    const [created] = await admin.createTopics({ topics: [topic], partitions: -1, replicas: -1, configs: [{ name: 'retention.ms', value: '60000' }] });
    expect(created).toMatchObject({ name: topic, partitions: 2, replicas: 1 });
    expect(created!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created!.id).not.toBe('00000000-0000-0000-0000-000000000000');
    expect(created!.configuration).toMatchObject({ 'retention.ms': '60000', 'cleanup.policy': 'delete' });
    expect(await platformaticErrorIds(admin.createTopics({ topics: [topic] }))).toEqual(['TOPIC_ALREADY_EXISTS']);
    expect(await platformaticErrorIds(admin.createTopics({ topics: ['pf-assigned'], assignments: [{ partition: 0, brokers: [1, 2] }] })))
      .toEqual(['INVALID_REPLICA_ASSIGNMENT']);
  });

  it('describes configs with types and documentation (DescribeConfigs v4)', async () => {
    const [described] = await admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['retention.ms', 'cleanup.policy', 'write.caching'] }],
      includeSynonyms: true, includeDocumentation: true,
    });
    const byName = new Map(described!.configs.map((c) => [c.name, c]));
    expect(byName.get('retention.ms')).toMatchObject({ value: '60000', configSource: ConfigSources.TOPIC_CONFIG, configType: ConfigTypes.LONG });
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'delete', configSource: ConfigSources.DEFAULT_CONFIG, configType: ConfigTypes.LIST });
    expect(byName.get('write.caching')!.configType).toBe(ConfigTypes.BOOLEAN);
    expect(byName.get('write.caching')!.documentation).toMatch(/fdatasync/);
  });

  it('alters configs incrementally: SET, APPEND, SUBTRACT, DELETE (IncrementalAlterConfigs v1)', async () => {
    const alter = (configs: Parameters<Admin['incrementalAlterConfigs']>[0]['resources'][number]['configs'], validateOnly = false) =>
      admin.incrementalAlterConfigs({ validateOnly, resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs }] });
    const values = async (): Promise<Record<string, string | null | undefined>> => {
      const [d] = await admin.describeConfigs({
        resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['retention.ms', 'cleanup.policy', 'segment.ms'] }],
      });
      return Object.fromEntries(d!.configs.map((c) => [c.name, c.value]));
    };
    await alter([{ name: 'segment.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '5000' }], true);
    expect((await values())['segment.ms']).toBe('604800000');
    await alter([
      { name: 'segment.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '5000' },
      { name: 'cleanup.policy', configOperation: IncrementalAlterConfigOperationTypes.APPEND, value: 'compact' },
    ]);
    expect(await values()).toEqual({ 'retention.ms': '60000', 'cleanup.policy': 'delete,compact', 'segment.ms': '5000' });
    await alter([
      { name: 'cleanup.policy', configOperation: IncrementalAlterConfigOperationTypes.SUBTRACT, value: 'delete' },
      { name: 'retention.ms', configOperation: IncrementalAlterConfigOperationTypes.DELETE },
    ]);
    expect(await values()).toEqual({ 'retention.ms': BROKER_RETENTION_MS, 'cleanup.policy': 'compact', 'segment.ms': '5000' });
    // APPEND only applies to lists; a bad value changes nothing.
    expect(await platformaticErrorIds(alter([{ name: 'segment.ms', configOperation: IncrementalAlterConfigOperationTypes.APPEND, value: '1' }])))
      .toEqual(['INVALID_CONFIG']);
    expect(await platformaticErrorIds(alter([{ name: 'segment.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: 'x' }])))
      .toEqual(['INVALID_CONFIG']);
    expect((await values())['segment.ms']).toBe('5000');
    await alter([{ name: 'cleanup.policy', configOperation: IncrementalAlterConfigOperationTypes.SET, value: 'delete' }]);
  });

  it('replaces configs (AlterConfigs v2)', async () => {
    await admin.alterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs: [{ name: 'retention.ms', value: '120000' }] }] });
    const [d] = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['retention.ms', 'segment.ms'] }] });
    expect(Object.fromEntries(d!.configs.map((c) => [c.name, c.value]))).toEqual({ 'retention.ms': '120000', 'segment.ms': '604800000' });
  });

  it('adds partitions (CreatePartitions v3)', async () => {
    await admin.createPartitions({ topics: [{ name: topic, count: 3, assignments: [{ brokerIds: [1] }] }] });
    expect(await platformaticErrorIds(admin.createPartitions({ topics: [{ name: topic, count: 4, assignments: [{ brokerIds: [2] }] }] })))
      .toEqual(['INVALID_REPLICA_ASSIGNMENT']);
    expect((await kafkajsAdmin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions).toHaveLength(3);
  });

  it('deletes records, and ListOffsets earliest follows (DeleteRecords v2)', async () => {
    await produce(topic, 1, 8, true);
    const [deleted] = await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 1, offset: 3n }] }] });
    expect(deleted!.partitions).toEqual([{ partition: 1, lowWatermark: 3n }]);
    const [earliest] = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 1, timestamp: -2n }] }] });
    expect(earliest!.partitions[0]!.offset).toBe(3n);
    expect(await platformaticErrorIds(admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 1, offset: 9n }] }] })))
      .toEqual(['OFFSET_OUT_OF_RANGE']);
  });

  it('describes log dirs (DescribeLogDirs v4)', async () => {
    const [described] = await admin.describeLogDirs({ topics: [{ name: topic, partitions: [0, 1, 2] }] });
    const dir = described!.results[0]!;
    expect(dir.logDir).toBe(broker.dataDir);
    expect(dir.totalBytes).toBeGreaterThan(0n);
    expect(dir.usableBytes).toBeGreaterThan(0n);
    const partitions = dir.topics.find((t) => t.name === topic)!.partitions;
    expect(partitions.map((p) => p.partitionIndex).sort()).toEqual([0, 1, 2]);
    expect(partitions.find((p) => p.partitionIndex === 1)!.partitionSize).toBeGreaterThan(0n);
    expect(partitions.every((p) => p.isFutureKey === false)).toBe(true);
  });

  it('answers DescribeCluster, OffsetForLeaderEpoch and DescribeProducers', async () => {
    const connection = new Connection('sluice-admin-test');
    await connection.connect('127.0.0.1', broker.port);
    try {
      const cluster = await describeClusterV1.api.async(connection, false, 1);
      expect(cluster).toMatchObject({ errorCode: 0, endpointType: 1, controllerId: 1, brokers: [{ brokerId: 1, host: '127.0.0.1', port: broker.port, rack: null }] });
      expect(cluster.clusterId).toMatch(/^[\w-]{22}$/);
      expect(await platformaticErrorIds(describeClusterV1.api.async(connection, false, 2))).toEqual(['MISMATCHED_ENDPOINT_TYPE']);
      expect(await platformaticErrorIds(describeConfigsV4.api.async(connection, [{ resourceType: ConfigResourceTypes.BROKER, resourceName: '7' }], false, false)))
        .toEqual(['INVALID_REQUEST']);


      const producers = await describeProducersV0.api.async(connection, [{ name: topic, partitionIndexes: [1] }]);
      const [p1] = producers.topics[0]!.partitions;
      expect(p1!.errorCode).toBe(0);
      expect(p1!.activeProducers).toHaveLength(1);
      expect(p1!.activeProducers[0]).toMatchObject({ producerEpoch: 0, lastSequence: 7, coordinatorEpoch: -1, currentTxnStartOffset: -1n });
      expect(await platformaticErrorIds(describeProducersV0.api.async(connection, [{ name: topic, partitionIndexes: [9] }])))
        .toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
    } finally {
      await connection.close();
    }
  });

  it('answers OffsetForLeaderEpoch with the epoch end, fencing from v2 (raw requests)', async () => {
    const partitions = [
      { partition: 1, currentLeaderEpoch: 0, leaderEpoch: 0 },
      { partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0 },
      { partition: 9, currentLeaderEpoch: -1, leaderEpoch: 0 },
    ];
    const v4 = await rawRequest(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic, partitions }] });
    expect(v4.topics[0]!.partitions).toEqual([
      { errorCode: 0, partition: 1, leaderEpoch: 0, endOffset: 8 },
      { errorCode: 75, partition: 0, leaderEpoch: -1, endOffset: -1 }, // UNKNOWN_LEADER_EPOCH: the client knows a newer epoch
      { errorCode: 3, partition: 9, leaderEpoch: -1, endOffset: -1 },
    ]);
    // v0 has no current epoch to fence on, and no epoch in the answer. Partition 0 is empty, but
    // its leader recorded epoch 0 at its log end on becoming leader (as Kafka's makeLeader does).
    const v0 = await rawRequest(ApiKey.OffsetForLeaderEpoch, 0, { topics: [{ topic, partitions }] });
    expect(v0.topics[0]!.partitions.map((p) => [p.partition, p.errorCode, p.endOffset])).toEqual([[1, 0, 8], [0, 0, 0], [9, 3, -1]]);
  });

  it('deletes topics (DeleteTopics v6)', async () => {
    await admin.deleteTopics({ topics: [topic] });
    expect(await admin.listTopics()).not.toContain(topic);
    expect(await platformaticErrorIds(admin.deleteTopics({ topics: [topic] }))).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
  });
});

describe('kafka-python admin', () => {
  it('creates, describes, alters, grows and deletes topics, with Kafka error classes', async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [PYTHON_SCRIPT, broker.bootstrap, 'py'], { timeout: 60_000 });
    const out = JSON.parse(stdout) as Record<string, { ok?: unknown; error?: string }>;
    expect(out.validate_only).toEqual({ ok: 3 });
    expect(out.topics_after_validate).toEqual({ ok: false });
    expect(out.create).toEqual({ ok: 3 });
    expect(out.create_again).toEqual({ error: 'TopicAlreadyExistsError' });
    expect(out.create_invalid_name).toEqual({ error: 'InvalidTopicError' });
    expect(out.create_bad_config).toEqual({ error: 'InvalidConfigurationError' });
    expect(out.create_rf3).toEqual({ error: 'InvalidReplicationFactorError' });
    expect(out.create_assigned).toEqual({ ok: 3 });
    expect(out.create_assigned_elsewhere).toEqual({ error: 'InvalidReplicationAssignmentError' });
    type Described = { error_code: number; version: number; configs: Record<string, { value: string; source: number; synonyms: unknown[] }> };
    const described = out.describe!.ok as Described;
    expect(described.version).toBe(2);
    expect(described.configs['retention.ms']).toEqual({
      value: '3600000', source: 1,
      synonyms: [['retention.ms', '3600000', 1], ['log.retention.ms', BROKER_RETENTION_MS, 4], ['log.retention.ms', '604800000', 5]],
    });
    expect(out.alter).toEqual({ ok: [0] });
    const altered = out.describe_after_alter!.ok as Described;
    expect(altered.configs['segment.bytes']).toMatchObject({ value: '1048576', source: 1 });
    expect(altered.configs['retention.ms']).toMatchObject({ value: BROKER_RETENTION_MS, source: 4 });
    expect(out.alter_broker).toEqual({ ok: [42] });
    expect(out.create_partitions).toEqual({ ok: 1 });
    expect(out.shrink_partitions).toEqual({ error: 'InvalidPartitionsError' });
    expect(out.partitions).toEqual({ ok: 5 });
    expect(out.cluster!.ok).toMatchObject({ brokers: [{ node_id: 1, host: '127.0.0.1', port: broker.port }], controller_id: 1 });
    expect(out.delete).toEqual({ ok: 3 });
    expect(out.delete_missing).toEqual({ error: 'UnknownTopicOrPartitionError' });
    expect(out.topics_after_delete).toEqual({ ok: [] });
  });
});

describe('delete.topic.enable=false', () => {
  it('answers TOPIC_DELETION_DISABLED (INVALID_REQUEST before v3) and keeps the topic', async () => {
    const locked = await startBroker({ overrides: { 'delete.topic.enable': 'false' } });
    const kafkajs = new Kafka({ clientId: 'sluice-admin-test', brokers: [locked.bootstrap], logLevel: logLevel.NOTHING }).admin();
    const platformatic = new Admin({ clientId: 'sluice-admin-test', bootstrapBrokers: [locked.bootstrap], retries: 0 });
    try {
      await kafkajs.connect();
      await kafkajs.createTopics({ topics: [{ topic: 'kept' }] });
      // KafkaJS sends DeleteTopics v1, which predates TOPIC_DELETION_DISABLED.
      expect(await kafkajsErrorTypes(kafkajs.deleteTopics({ topics: ['kept'], timeout: 1000 }))).toEqual(['INVALID_REQUEST']);
      expect(await platformaticErrorIds(platformatic.deleteTopics({ topics: ['kept'] }))).toEqual(['TOPIC_DELETION_DISABLED']);
      expect(await kafkajs.listTopics()).toContain('kept');
    } finally {
      await kafkajs.disconnect();
      await platformatic.close();
      expect(await locked.stop()).toBe(0);
    }
  });
});
