/** `sluice topics`: list, create, describe, alter and delete topics, as kafka-topics.sh does. */
import { CliUsageError, parseArgs, type Args, type CliCommand, type CliIo } from '@sluice/sdk';
import { ApiKey, uuidToString, ZERO_UUID } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError, REQUEST_TIMEOUT_MS, type TopicMetadata } from './client.js';
import { errorName } from './error-names.js';
import { BOOTSTRAP_USAGE, bootstrap, configPairs, integer, topicName } from './options.js';

const usage = `Usage: sluice topics list [options]
       sluice topics create <topic> [--partitions N] [--replication-factor N]
                            [--config key=value ...] [--if-not-exists] [options]
       sluice topics describe [<topic>] [options]
       sluice topics alter <topic> [--partitions N] [--config key=value ...]
                           [--delete-config key ...] [options]
       sluice topics delete <topic> [options]

Manages the topics of a running broker over the Kafka protocol.

  list       Prints the topic names, one per line.
  create     Creates a topic; partitions and replication factor default to the broker's
             num.partitions and default.replication.factor.
  describe   Prints a topic's (or every topic's) id, partitions with leader, replicas and
             in-sync replicas, and the configs not at their default, with their sources.
  alter      Raises the partition count, sets configs, removes config overrides.
  delete     Deletes a topic.

Options:
${BOOTSTRAP_USAGE}
  --partitions N                 The partition count (create), the new count (alter).
  --replication-factor N         Copies of each partition (create).
  --config key=value             A topic config (create, alter); may repeat.
  --delete-config key            Remove an override, back to the default (alter); may repeat.
  --if-not-exists                An existing topic is not an error (create).
  -h, --help                     Show this help.
`;

const TOPIC_ALREADY_EXISTS = 36;
const TOPIC_RESOURCE = 2;
const CONFIG_SET = 0;
const CONFIG_DELETE = 1;
const DEFAULT_CONFIG_SOURCE = 5;
/** DescribeConfigs' config_source values from v1 (KIP-226). */
const CONFIG_SOURCES = [
  'UNKNOWN', 'DYNAMIC_TOPIC_CONFIG', 'DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG', 'DYNAMIC_BROKER_LOGGER_CONFIG', 'CLIENT_METRICS_CONFIG', 'GROUP_CONFIG',
];

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    io.stdout(usage);
    return 0;
  }
  if (action === undefined) throw new CliUsageError('expected list, create, describe, alter or delete');
  const args = parseArgs(rest, {
    values: ['bootstrap-server', 'partitions', 'replication-factor', 'config', 'delete-config'],
    flags: ['if-not-exists'],
  });
  if (args.flags.has('help')) {
    io.stdout(usage);
    return 0;
  }
  const allowed: Record<string, readonly string[]> = {
    list: [], create: ['partitions', 'replication-factor', 'config', 'if-not-exists'], describe: [],
    alter: ['partitions', 'config', 'delete-config'], delete: [],
  };
  const options = allowed[action];
  if (options === undefined) throw new CliUsageError(`unknown topics action ${action}`);
  for (const name of [...args.values.keys(), ...args.flags]) {
    if (name !== 'bootstrap-server' && !options.includes(name)) throw new CliUsageError(`topics ${action} takes no --${name}`);
  }
  if ((action === 'list' && args.positionals.length > 0) || (action === 'describe' && args.positionals.length > 1)) {
    throw new CliUsageError(`topics ${action} takes ${action === 'list' ? 'no topic name' : 'at most one topic name'}`);
  }
  const client = new KafkaClient(bootstrap(args));
  try {
    switch (action) {
      case 'list': {
        const metadata = await client.metadata(null);
        const names = metadata.topics.map((t) => t.name ?? '').sort();
        io.stdout(names.map((n) => `${n}\n`).join(''));
        return 0;
      }
      case 'create': {
        const name = topicName(args, 'topics create');
        const answer = await client.request(ApiKey.CreateTopics, {
          topics: [{
            name,
            numPartitions: integer(args, 'partitions', 1, 2 ** 31 - 1) ?? -1,
            replicationFactor: integer(args, 'replication-factor', 1, 2 ** 15 - 1) ?? -1,
            assignments: [],
            configs: configPairs(args).map(([key, value]) => ({ name: key, value })),
          }],
          timeoutMs: REQUEST_TIMEOUT_MS,
          validateOnly: false,
        });
        const result = answer.topics[0];
        if (result === undefined) throw new Error(`the broker did not answer for topic ${name}`);
        if (result.errorCode === TOPIC_ALREADY_EXISTS && args.flags.has('if-not-exists')) {
          io.stdout(`Topic ${name} already exists.\n`);
          return 0;
        }
        if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, `cannot create topic ${name}`, result.errorMessage);
        io.stdout(`Created topic ${name}.\n`);
        return 0;
      }
      case 'describe':
        await describe(client, args.positionals[0], io);
        return 0;
      case 'alter':
        await alter(client, topicName(args, 'topics alter'), args, io);
        return 0;
      default: {
        const name = topicName(args, 'topics delete');
        const answer = await client.request(ApiKey.DeleteTopics, {
          topics: [{ name, topicId: ZERO_UUID }], topicNames: [name], timeoutMs: REQUEST_TIMEOUT_MS,
        });
        const result = answer.responses[0];
        if (result === undefined) throw new Error(`the broker did not answer for topic ${name}`);
        if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, `cannot delete topic ${name}`, result.errorMessage);
        io.stdout(`Deleted topic ${name}.\n`);
        return 0;
      }
    }
  } finally {
    client.close();
  }
}

async function describe(client: KafkaClient, name: string | undefined, io: CliIo): Promise<void> {
  const topics: TopicMetadata[] = name === undefined
    ? [...(await client.metadata(null)).topics].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''))
    : [await client.topic(name)];
  if (topics.length === 0) return;
  const configs = await client.request(ApiKey.DescribeConfigs, {
    resources: topics.map((t) => ({ resourceType: TOPIC_RESOURCE, resourceName: t.name ?? '', configurationKeys: null })),
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const lines: string[] = [];
  for (const topic of topics) {
    const partitions = [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
    lines.push(`Topic: ${topic.name}\tTopicId: ${uuidToString(topic.topicId)}\tPartitionCount: ${partitions.length}\t` +
      `ReplicationFactor: ${partitions[0]?.replicaNodes.length ?? 0}`);
    const result = configs.results.find((r) => r.resourceName === topic.name);
    if (result === undefined) throw new Error(`the broker did not describe the configs of ${topic.name}`);
    if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, `cannot describe the configs of ${topic.name}`, result.errorMessage);
    for (const c of [...result.configs].sort((a, b) => a.name.localeCompare(b.name))) {
      if (c.configSource === DEFAULT_CONFIG_SOURCE) continue;
      const value = c.isSensitive ? '(sensitive)' : c.value ?? '(null)';
      lines.push(`\tConfig: ${c.name}=${value}\tSource: ${CONFIG_SOURCES[c.configSource] ?? c.configSource}`);
    }
    for (const p of partitions) {
      const error = p.errorCode === 0 ? '' : `\tError: ${errorName(p.errorCode)}`;
      lines.push(`\tTopic: ${topic.name}\tPartition: ${p.partitionIndex}\tLeader: ${p.leaderId === -1 ? 'none' : p.leaderId}\t` +
        `Replicas: ${p.replicaNodes.join(',')}\tIsr: ${p.isrNodes.join(',')}${error}`);
    }
  }
  io.stdout(lines.map((l) => `${l}\n`).join(''));
}

async function alter(client: KafkaClient, name: string, args: Args, io: CliIo): Promise<void> {
  const partitions = integer(args, 'partitions', 1, 2 ** 31 - 1);
  const set = configPairs(args);
  const deleted = args.values.get('delete-config') ?? [];
  if (partitions === undefined && set.length === 0 && deleted.length === 0) {
    throw new CliUsageError('topics alter needs --partitions, --config or --delete-config');
  }
  const done: string[] = [];
  if (set.length > 0 || deleted.length > 0) {
    const answer = await client.request(ApiKey.IncrementalAlterConfigs, {
      resources: [{
        resourceType: TOPIC_RESOURCE,
        resourceName: name,
        configs: [
          ...set.map(([key, value]) => ({ name: key, configOperation: CONFIG_SET, value })),
          ...deleted.map((key) => ({ name: key, configOperation: CONFIG_DELETE, value: null })),
        ],
      }],
      validateOnly: false,
    });
    const result = answer.responses[0];
    if (result === undefined) throw new Error(`the broker did not answer for topic ${name}`);
    if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, `cannot alter the configs of topic ${name}`, result.errorMessage);
    done.push(...set.map(([key, value]) => `set ${key}=${value}`), ...deleted.map((key) => `deleted ${key}`));
  }
  if (partitions !== undefined) {
    const answer = await client.request(ApiKey.CreatePartitions, {
      topics: [{ name, count: partitions, assignments: null }], timeoutMs: REQUEST_TIMEOUT_MS, validateOnly: false,
    });
    const result = answer.results[0];
    if (result === undefined) throw new Error(`the broker did not answer for topic ${name}`);
    // Configs already altered above stay altered: say so rather than leave the operator guessing.
    const before = done.length > 0 ? ` (configs were altered: ${done.join(', ')})` : '';
    if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, `cannot grow topic ${name} to ${partitions} partitions${before}`, result.errorMessage);
    done.push(`${partitions} partitions`);
  }
  io.stdout(`Altered topic ${name}: ${done.join(', ')}.\n`);
}

export const topicsCommand: CliCommand = { name: 'topics', summary: 'List, create, describe, alter or delete topics', usage, run };
