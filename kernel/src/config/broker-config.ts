/**
 * Broker properties, named and defaulted as Kafka's server.properties so that an
 * operator's file carries over. Topic defaults (`log.retention.hours`, ...) are the
 * broker synonyms of topic-config.ts and share its rules.
 */
import path from 'node:path';
import type { PeerAddress } from '@sluice/sdk';
import { ConfigError, parseConfigValue, type ConfigDef, type ConfigType, type ConfigValue } from './config-def.js';
import { TOPIC_CONFIG_DEFS, toLogConfig, type LogConfig } from './topic-config.js';

const LONG_MAX = '9223372036854775807';
const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const DEFAULT_PROTOCOL_MAP = SECURITY_PROTOCOLS.map((p) => `${p}:${p}`).join(',');
/** `id@host:port`, an IPv6 host in brackets. */
const VOTER_RE = /^(\d+)@(\[[^\]]+\]|[^:@[\]]+):(\d+)$/;
const HOST_PORT_RE = /^(\[[^\]]+\]|[^:@[\]]+):(\d+)$/;

const BROKER_DEFS: readonly ConfigDef[] = [
  {
    name: 'node.id', type: 'int', default: '1', min: 0,
    doc: 'This node\'s id; must match the node.id in each log dir\'s meta.properties.',
  },
  {
    name: 'process.roles', type: 'list', default: 'broker,controller', oneOf: ['broker', 'controller'],
    doc: 'The roles this node plays. A single node is both broker and controller.',
    check: (roles) => {
      const list = roles as readonly string[];
      if (list.length === 0) return 'at least one role is required';
      return new Set(list).size === list.length ? undefined : 'a role is listed twice';
    },
  },
  {
    name: 'listeners', type: 'list', default: 'PLAINTEXT://:9092',
    doc: 'Addresses to listen on, as NAME://host:port. An empty host listens on all interfaces.',
  },
  {
    name: 'advertised.listeners', type: 'list', default: null,
    doc: 'Addresses clients are told to connect to; by default the same as listeners.',
  },
  {
    name: 'listener.security.protocol.map', type: 'list', default: DEFAULT_PROTOCOL_MAP,
    doc: 'Security protocol of each listener name, as NAME:PROTOCOL.',
  },
  {
    name: 'controller.listener.names', type: 'list', default: 'CONTROLLER',
    doc: 'Listener names the controller answers the quorum and broker RPCs on.',
  },
  {
    name: 'controller.quorum.voters', type: 'list', default: '',
    doc: 'The bootstrap voters of the metadata quorum, as id@host:port (an IPv6 host in brackets); each is reached at its address until the metadata log records the voter set (after a voter is added or removed at run time). Empty: this node is the only voter. A controller not listed starts as an observer and waits to be added (AddRaftVoter).',
    check: (voters) => {
      const list = voters as readonly string[];
      const bad = list.find((v) => !VOTER_RE.test(v) || Number(VOTER_RE.exec(v)![3]) > 65535);
      if (bad !== undefined) return `"${bad}" is not id@host:port`;
      const ids = list.map((v) => VOTER_RE.exec(v)![1]);
      return new Set(ids).size === ids.length ? undefined : 'a node id is listed twice';
    },
  },
  {
    name: 'log.dirs', type: 'list', default: null,
    doc: 'Directories the partitions\' logs are kept in; when unset, log.dir.',
  },
  {
    name: 'log.dir', type: 'string', default: './data',
    doc: 'The log directory, when log.dirs is unset.',
  },
  {
    name: 'num.partitions', type: 'int', default: '1', min: 1,
    doc: 'Partitions of an automatically created topic, and of a created topic that does not say.',
  },
  {
    name: 'default.replication.factor', type: 'int', default: '1', min: 1,
    doc: 'Replication factor of topics created without one (and of automatically created topics).',
  },
  {
    name: 'auto.create.topics.enable', type: 'boolean', default: 'true',
    doc: 'Create a topic when a client asks for metadata of, or produces to, a topic that does not exist.',
  },
  {
    name: 'min.insync.replicas', type: 'int', default: '1', min: 1,
    doc: 'Replicas that must have an acks=all write before it is acknowledged.',
  },
  {
    name: 'delete.topic.enable', type: 'boolean', default: 'true',
    doc: 'Whether topics can be deleted.',
  },
  {
    name: 'log.retention.check.interval.ms', type: 'long', default: '300000', min: 1,
    doc: 'How often segments are checked against retention.',
  },
  {
    name: 'log.flush.scheduler.interval.ms', type: 'long', default: LONG_MAX, min: 1,
    doc: 'How often logs are checked against flush.ms.',
  },
  {
    name: 'log.flush.offset.checkpoint.interval.ms', type: 'int', default: '60000', min: 0,
    doc: 'How often the recovery points are checkpointed.',
  },
  {
    name: 'log.flush.start.offset.checkpoint.interval.ms', type: 'int', default: '60000', min: 0,
    doc: 'How often the log start offsets are checkpointed.',
  },
  {
    name: 'log.cleaner.enable', type: 'boolean', default: 'true',
    doc: 'Run the log cleaner, which compacts topics whose cleanup.policy includes compact.',
  },
  {
    name: 'log.cleaner.threads', type: 'int', default: '1', min: 0,
    doc: 'Log cleaner threads.',
  },
  {
    name: 'log.cleaner.dedupe.buffer.size', type: 'long', default: '134217728', min: 1,
    doc: 'Memory, in bytes, the log cleaner uses to find the latest record of each key.',
  },
  {
    name: 'log.cleaner.backoff.ms', type: 'long', default: '15000', min: 0,
    doc: 'Pause of the log cleaner when there is nothing to clean.',
  },
  {
    name: 'producer.id.expiration.ms', type: 'int', default: '86400000', min: 1,
    doc: 'How long a producer id\'s state is kept after its last write.',
  },
  {
    name: 'producer.id.expiration.check.interval.ms', type: 'int', default: '600000', min: 1,
    doc: 'How often expired producer ids are removed.',
  },
  {
    name: 'socket.request.max.bytes', type: 'int', default: '104857600', min: 1,
    doc: 'Largest request the broker reads.',
  },
  {
    name: 'connections.max.idle.ms', type: 'long', default: '600000',
    doc: 'Idle connections are closed after this long.',
  },
  {
    name: 'max.incremental.fetch.session.cache.slots', type: 'int', default: '1000', min: 0,
    doc: 'Incremental fetch sessions (KIP-227) the broker keeps; the least recently used is evicted when full.',
  },
  {
    name: 'offsets.topic.num.partitions', type: 'int', default: '50', min: 1,
    doc: 'Partitions of __consumer_offsets when the group coordinator creates it; an existing topic keeps its count.',
  },
  {
    name: 'offsets.topic.replication.factor', type: 'int', default: '3', min: 1,
    doc: 'Replication factor of __consumer_offsets, capped at the brokers alive when it is created.',
  },
  {
    name: 'offsets.topic.segment.bytes', type: 'int', default: '104857600', min: 1024,
    doc: 'Segment size of __consumer_offsets when the group coordinator creates it.',
  },
  {
    name: 'offsets.retention.minutes', type: 'int', default: '10080', min: 1,
    doc: 'How long committed offsets are kept after a group becomes empty (or, for offsets of topics the group no longer consumes, after their last commit).',
  },
  {
    name: 'offsets.retention.check.interval.ms', type: 'long', default: '600000', min: 1,
    doc: 'How often committed offsets are checked against offsets.retention.minutes.',
  },
  {
    name: 'offset.metadata.max.bytes', type: 'int', default: '4096', min: 0,
    doc: 'Largest metadata string an offset commit may carry.',
  },
  {
    name: 'group.initial.rebalance.delay.ms', type: 'int', default: '3000', min: 0,
    doc: 'How long a new group waits for more members before its first rebalance completes.',
  },
  {
    name: 'group.min.session.timeout.ms', type: 'int', default: '6000', min: 0,
    doc: 'Smallest session timeout a group member may ask for.',
  },
  {
    name: 'group.max.session.timeout.ms', type: 'int', default: '1800000', min: 0,
    doc: 'Largest session timeout a group member may ask for.',
  },
  {
    name: 'group.max.size', type: 'int', default: '2147483647', min: 1,
    doc: 'Most members a classic group admits (GROUP_MAX_SIZE_REACHED beyond).',
  },
  {
    name: 'group.consumer.assignors', type: 'list', default: 'uniform,range',
    doc: 'Server-side assignors consumer (KIP-848) groups may choose with server_assignor; the first is the default. Kafka\'s class names of the same assignors are accepted.',
  },
  {
    name: 'group.consumer.session.timeout.ms', type: 'int', default: '45000', min: 1,
    doc: 'A consumer (KIP-848) group member that does not heartbeat for this long is removed from its group.',
  },
  {
    name: 'group.consumer.heartbeat.interval.ms', type: 'int', default: '5000', min: 1,
    doc: 'How often consumer (KIP-848) group members are told to heartbeat.',
  },
  {
    name: 'group.consumer.max.size', type: 'int', default: '2147483647', min: 1,
    doc: 'Most members a consumer (KIP-848) group admits (GROUP_MAX_SIZE_REACHED beyond).',
  },
  {
    name: 'transaction.state.log.num.partitions', type: 'int', default: '50', min: 1,
    doc: 'Partitions of __transaction_state when the transaction coordinator creates it; an existing topic keeps its count.',
  },
  {
    name: 'transaction.state.log.segment.bytes', type: 'int', default: '104857600', min: 1024,
    doc: 'Segment size of __transaction_state when the transaction coordinator creates it.',
  },
  {
    name: 'transaction.state.log.replication.factor', type: 'int', default: '3', min: 1,
    doc: 'Replication factor of __transaction_state, capped at the brokers alive when it is created.',
  },
  {
    name: 'transaction.max.timeout.ms', type: 'int', default: '900000', min: 1,
    doc: 'Largest transaction.timeout.ms a producer may ask for in InitProducerId (INVALID_TRANSACTION_TIMEOUT above).',
  },
  {
    name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'int', default: '10000', min: 1,
    doc: 'How often the transaction coordinator looks for transactions open longer than their timeout and aborts them, fencing their producer.',
  },
  {
    name: 'plugins', type: 'list', default: 'kafka',
    doc: 'Plugins to load, in order: built-in names (kafka), package names or paths. Keys under <plugin>. configure a plugin.',
  },
  {
    name: 'controller.quorum.bootstrap.servers', type: 'list', default: '',
    doc: 'Accepted as in Kafka (host:port entries) but not used for discovery: the bootstrap voter set comes from controller.quorum.voters, which must then be set too; voters added or removed at run time (AddRaftVoter, RemoveRaftVoter) are recorded in the metadata log.',
    check: (servers) => {
      const bad = (servers as readonly string[]).find((s) => !HOST_PORT_RE.test(s));
      return bad === undefined ? undefined : `"${bad}" is not host:port`;
    },
  },
  {
    name: 'controller.quorum.election.timeout.ms', type: 'int', default: '1000', min: 1,
    doc: 'A voter that knows no leader campaigns after a random wait between this and twice this.',
  },
  {
    name: 'controller.quorum.fetch.timeout.ms', type: 'int', default: '2000', min: 1,
    doc: 'A follower that has not fetched from the leader for this long starts an election; a leader not fetched from by a majority for 1.5 times this resigns.',
  },
  {
    name: 'controller.quorum.election.backoff.max.ms', type: 'int', default: '1000', min: 0,
    doc: 'Accepted as in Kafka; has no effect: after a lost election a voter waits a new random election timeout, and pre-vote keeps failed rounds from disturbing the quorum.',
  },
  {
    name: 'controller.quorum.request.timeout.ms', type: 'int', default: '2000', min: 1,
    doc: 'How long a quorum RPC (vote, begin-quorum-epoch, fetch) may take before it is given up; Raft resends on its own timers.',
  },
  {
    name: 'controller.quorum.append.linger.ms', type: 'int', default: '25', min: 0,
    doc: 'How long the quorum leader gathers appends to the metadata log before one fsync; entries commit only once flushed.',
  },
  {
    name: 'metadata.log.dir', type: 'string', default: null,
    doc: 'Directory of the metadata log __cluster_metadata-0 and its quorum-state; by default the first of log.dirs.',
  },
  {
    name: 'broker.session.timeout.ms', type: 'int', default: '9000', min: 1,
    doc: 'The controller fences a broker whose heartbeats stop for this long: it leaves every ISR and its leaderships move.',
  },
  {
    name: 'broker.heartbeat.interval.ms', type: 'int', default: '2000', min: 1,
    doc: 'How often a broker heartbeats to the active controller.',
  },
  {
    name: 'broker.rack', type: 'string', default: null,
    doc: 'The rack of this broker; replicas of a partition are spread over racks.',
  },
  {
    name: 'unclean.leader.election.enable', type: 'boolean', default: 'false',
    doc: 'Elect a replica outside the ISR when no ISR member is available, losing the writes it lacks; otherwise the partition stays offline until one returns.',
  },
  {
    name: 'auto.leader.rebalance.enable', type: 'boolean', default: 'true',
    doc: 'The controller periodically hands leaderships back to preferred replicas (the first of each partition\'s replicas).',
  },
  {
    name: 'leader.imbalance.check.interval.seconds', type: 'long', default: '300', min: 1,
    doc: 'How often the controller checks for leaderships away from their preferred replicas.',
  },
  {
    name: 'leader.imbalance.per.broker.percentage', type: 'int', default: '10', min: 0, max: 100,
    doc: 'Share of a broker\'s preferred partitions led elsewhere, in percent, above which the controller moves them back.',
  },
  {
    name: 'replica.lag.time.max.ms', type: 'long', default: '30000', min: 1,
    doc: 'A follower that has not caught up with the leader\'s log end for this long leaves the ISR (checked every half of it).',
  },
  {
    name: 'replica.fetch.wait.max.ms', type: 'int', default: '500', min: 0,
    doc: 'How long a leader may hold a follower\'s fetch while it has no new data (at most 10 s).',
  },
  {
    name: 'replica.fetch.min.bytes', type: 'int', default: '1', min: 1,
    doc: 'Bytes a follower\'s fetch waits for before the leader answers, up to replica.fetch.wait.max.ms.',
  },
  {
    name: 'replica.fetch.max.bytes', type: 'int', default: '1048576', min: 0,
    doc: 'Bytes a follower fetches per partition in one request (the first batch always comes whole).',
  },
  {
    name: 'replica.fetch.response.max.bytes', type: 'int', default: '10485760', min: 0,
    doc: 'Bytes a follower fetches in one request over all its partitions from one leader.',
  },
  {
    name: 'replica.fetch.backoff.ms', type: 'int', default: '1000', min: 0,
    doc: 'How long a follower waits after a failed fetch, or a partition error, before fetching again.',
  },
  {
    name: 'replica.socket.timeout.ms', type: 'int', default: '30000', min: 1,
    doc: 'How long a follower\'s fetch may take beyond replica.fetch.wait.max.ms before it counts as failed.',
  },
  {
    name: 'metadata.log.max.record.bytes.between.snapshots', type: 'long', default: String(20 * 1024 * 1024), min: 1,
    doc: 'Bytes of committed metadata log entries after the last snapshot that make this node write a new one.',
  },
  {
    name: 'metadata.log.max.snapshot.interval.ms', type: 'long', default: '3600000', min: 0,
    doc: 'Longest time between metadata snapshots while entries were committed since the last; 0 disables the time trigger.',
  },
  {
    name: 'follower.replication.throttled.rate', type: 'long', default: '9223372036854775807', min: 1,
    doc: 'Bytes/s this broker fetches, as a follower, for the replicas topics list in follower.replication.throttled.replicas ' +
      'while they are out of the ISR (a reassignment moving data); the default means no limit.',
  },
  {
    name: 'leader.replication.throttled.rate', type: 'long', default: '9223372036854775807', min: 1,
    doc: 'Bytes/s this broker sends, as a leader, to followers out of the ISR fetching the replicas topics list in ' +
      'leader.replication.throttled.replicas; the default means no limit.',
  },
];

/**
 * Broker synonyms take the topic key's rules. One in a coarser unit (hours, minutes) is an
 * int, as in Kafka; its lower bound is the topic's, in that unit, except that any negative
 * means "no limit" wherever the topic allows -1.
 */
function synonymDefs(): ConfigDef[] {
  const explicit = new Set(BROKER_DEFS.map((d) => d.name));
  const out: ConfigDef[] = [];
  for (const topicDef of TOPIC_CONFIG_DEFS) {
    const { synonyms, ...rules } = topicDef;
    synonyms.forEach(([key, scale], i) => {
      if (explicit.has(key)) return;
      const coarsest = i === synonyms.length - 1;
      const doc = `Default of the topic config ${topicDef.name}${scale === 1 ? '' : `, in units of ${scale} ms`}. ${topicDef.doc}`;
      if (scale === 1) {
        out.push({ ...rules, name: key, default: coarsest ? topicDef.default : null, doc });
        return;
      }
      const topicDefault = Number(topicDef.default);
      out.push({
        name: key,
        type: 'int',
        default: coarsest && Number.isInteger(topicDefault / scale) ? String(topicDefault / scale) : null,
        min: rules.min !== undefined && rules.min > 0 ? Math.ceil(rules.min / scale) : undefined,
        doc,
      });
    });
  }
  return out;
}

const ALL_DEFS: readonly ConfigDef[] = [...BROKER_DEFS, ...synonymDefs()];
const DEFS_BY_NAME = new Map(ALL_DEFS.map((d) => [d.name, d]));

/** Every broker property with its type, default and meaning, for the docs. */
export function brokerConfigTable(): Array<{ name: string; type: ConfigType; default: string | null; doc: string }> {
  return ALL_DEFS.map((d) => ({ name: d.name, type: d.type, default: d.default, doc: d.doc }));
}

export interface Listener {
  /** Upper-cased, as Kafka treats listener names. */
  readonly name: string;
  /** Empty: every interface. IPv6 addresses without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface BrokerConfig {
  /** The properties as given, after overrides; the log resolves topic defaults from them. */
  readonly props: Readonly<Record<string, string>>;
  readonly nodeId: number;
  readonly processRoles: readonly string[];
  readonly listeners: readonly Listener[];
  readonly advertisedListeners: readonly Listener[];
  /** Listener name to security protocol. */
  readonly listenerSecurityProtocols: Readonly<Record<string, string>>;
  readonly controllerListenerNames: readonly string[];
  readonly controllerQuorumVoters: readonly string[];
  /** `controller.quorum.voters` parsed; empty: this node is the only voter. */
  readonly quorumVoters: readonly PeerAddress[];
  readonly quorumElectionTimeoutMs: number;
  readonly quorumFetchTimeoutMs: number;
  readonly quorumRequestTimeoutMs: number;
  readonly quorumAppendLingerMs: number;
  /** Absolute path: `metadata.log.dir`, or the first of the log dirs. */
  readonly metadataLogDir: string;
  /** Absolute paths. */
  readonly logDirs: readonly string[];
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly transactionStateLogReplicationFactor: number;
  readonly brokerSessionTimeoutMs: number;
  readonly brokerHeartbeatIntervalMs: number;
  /** broker.rack; null when unset. */
  readonly brokerRack: string | null;
  readonly uncleanLeaderElectionEnable: boolean;
  readonly autoLeaderRebalanceEnable: boolean;
  /** leader.imbalance.check.interval.seconds, in ms. */
  readonly leaderImbalanceCheckIntervalMs: number;
  readonly leaderImbalancePerBrokerPercentage: number;
  readonly replicaLagTimeMaxMs: number;
  readonly replicaFetchWaitMaxMs: number;
  readonly replicaFetchMinBytes: number;
  readonly replicaFetchMaxBytes: number;
  readonly replicaFetchResponseMaxBytes: number;
  readonly replicaFetchBackoffMs: number;
  readonly replicaSocketTimeoutMs: number;
  /** follower.replication.throttled.rate in bytes/s; Infinity: not throttled. */
  readonly followerReplicationThrottledRate: number;
  /** leader.replication.throttled.rate in bytes/s; Infinity: not throttled. */
  readonly leaderReplicationThrottledRate: number;
  /** `metadata.log.max.record.bytes.between.snapshots`. */
  readonly metadataSnapshotMaxRecordBytes: number;
  /** `metadata.log.max.snapshot.interval.ms`; 0: no time trigger. */
  readonly metadataSnapshotIntervalMs: number;
  readonly autoCreateTopicsEnable: boolean;
  readonly minInsyncReplicas: number;
  readonly deleteTopicEnable: boolean;
  readonly retentionCheckIntervalMs: number;
  /** Infinity when unset (Kafka's Long.MAX_VALUE). */
  readonly flushSchedulerIntervalMs: number;
  readonly flushOffsetCheckpointIntervalMs: number;
  readonly flushStartOffsetCheckpointIntervalMs: number;
  readonly logCleanerEnable: boolean;
  readonly logCleanerThreads: number;
  readonly dedupeBufferSizeBytes: number;
  readonly logCleanerBackoffMs: number;
  readonly producerIdExpirationMs: number;
  readonly producerIdExpirationCheckIntervalMs: number;
  readonly socketRequestMaxBytes: number;
  readonly connectionsMaxIdleMs: number;
  /** Plugin specifiers as listed in `plugins`. */
  readonly plugins: readonly string[];
  /** Per plugin short name (see pluginShortName): its `<name>.` keys, prefix removed. */
  readonly pluginConfigs: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Topic configs every topic without overrides gets. */
  readonly defaultLogConfig: LogConfig;
}

/**
 * The name a plugin's keys live under, from its `plugins` entry: the package or file
 * name without scope, extension and the `sluice-plugin-`/`plugin-` prefix or `-plugin`
 * suffix; a file named index takes its package directory's name.
 * `@sluice/plugin-mqtt` -> `mqtt`, `./examples/audit-plugin/dist/index.js` -> `audit`.
 */
export function pluginShortName(specifier: string): string {
  const parts = specifier.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  let name = (parts.pop() ?? '').replace(/\.(m|c)?(j|t)s$/, '');
  while (name === 'index' || name === 'dist' || name === 'src' || name === 'lib') {
    const parent = parts.pop();
    if (parent === undefined) break;
    name = parent;
  }
  return name.replace(/^(sluice-plugin-|plugin-)/, '').replace(/-plugin$/, '');
}

const LISTENER_RE = /^([A-Za-z0-9_]+):\/\/(\[[0-9A-Fa-f:.%a-zA-Z]*\]|[^:/[\]]*):([0-9]+)$/;

function parseListeners(key: string, items: readonly string[]): Listener[] {
  const out: Listener[] = [];
  for (const item of items) {
    const m = LISTENER_RE.exec(item);
    if (m === null) throw new ConfigError(key, `"${item}" is not NAME://host:port`);
    const port = Number(m[3]);
    if (port > 65535) throw new ConfigError(key, `port ${port} in "${item}" is outside 0-65535`);
    const name = m[1]!.toUpperCase();
    if (out.some((l) => l.name === name)) throw new ConfigError(key, `listener name ${name} is used twice`);
    out.push({ name, host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  return out;
}

function parseProtocolMap(key: string, items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const m = /^([A-Za-z0-9_]+):([A-Za-z_]+)$/.exec(item);
    if (m === null) throw new ConfigError(key, `"${item}" is not NAME:PROTOCOL`);
    const protocol = m[2]!.toUpperCase();
    if (!SECURITY_PROTOCOLS.includes(protocol)) {
      throw new ConfigError(key, `"${m[2]}" is not one of ${SECURITY_PROTOCOLS.join(', ')}`);
    }
    out[m[1]!.toUpperCase()] = protocol;
  }
  return out;
}

/**
 * Validates every known key (a bad value throws a ConfigError naming it), hands keys
 * under a listed plugin's name to that plugin, and warns about the rest.
 */
export function loadBrokerConfig(
  props: Readonly<Record<string, string>>,
  opts: { warn(msg: string): void },
): BrokerConfig {
  const given = new Map<string, ConfigValue>();
  for (const [key, raw] of Object.entries(props)) {
    const def = DEFS_BY_NAME.get(key);
    if (def !== undefined) given.set(key, parseConfigValue(def, raw));
  }
  const value = (name: string): ConfigValue => {
    const own = given.get(name);
    if (own !== undefined) return own;
    const def = DEFS_BY_NAME.get(name)!;
    return parseConfigValue(def, def.default ?? '');
  };
  const num = (name: string): number => value(name) as number;
  const bool = (name: string): boolean => value(name) as boolean;
  const list = (name: string): readonly string[] => value(name) as readonly string[];

  const plugins = list('plugins');
  const pluginNames = new Map<string, string>();
  for (const spec of plugins) {
    const name = pluginShortName(spec);
    if (name === '') throw new ConfigError('plugins', `cannot name a plugin from "${spec}"`);
    const other = pluginNames.get(name);
    if (other !== undefined) throw new ConfigError('plugins', `"${other}" and "${spec}" both configure under "${name}."`);
    pluginNames.set(name, spec);
  }
  const pluginConfigs: Record<string, Record<string, string>> = {};
  for (const name of pluginNames.keys()) pluginConfigs[name] = {};
  for (const [key, raw] of Object.entries(props)) {
    if (DEFS_BY_NAME.has(key)) continue;
    const owner = [...pluginNames.keys()].find((name) => key.startsWith(`${name}.`));
    if (owner !== undefined) pluginConfigs[owner]![key.slice(owner.length + 1)] = raw;
    else opts.warn(`unknown config key ${key}, ignored`);
  }

  const listeners = parseListeners('listeners', list('listeners'));
  if (listeners.length === 0) throw new ConfigError('listeners', 'at least one listener is required');
  const advertisedListeners = given.has('advertised.listeners')
    ? parseListeners('advertised.listeners', list('advertised.listeners'))
    : listeners;
  for (const l of advertisedListeners) {
    if (l.host === '0.0.0.0' || l.host === '::') {
      throw new ConfigError('advertised.listeners', `${l.name} advertises ${l.host}, which clients cannot connect to`);
    }
  }

  const controllerListenerNames = list('controller.listener.names').map((n) => n.toUpperCase());
  const protocols = parseProtocolMap('listener.security.protocol.map', list('listener.security.protocol.map'));
  // As in Kafka, controller listeners need no entry while the map is left at its default.
  if (!given.has('listener.security.protocol.map')) {
    for (const name of controllerListenerNames) protocols[name] ??= 'PLAINTEXT';
  }
  for (const l of [...listeners, ...advertisedListeners]) {
    if (protocols[l.name] === undefined) {
      throw new ConfigError('listener.security.protocol.map', `no security protocol for listener ${l.name}`);
    }
  }

  const dirs = given.has('log.dirs') ? list('log.dirs') : [value('log.dir') as string];
  if (dirs.length === 0 || dirs.some((d) => d === '')) {
    throw new ConfigError(given.has('log.dirs') ? 'log.dirs' : 'log.dir', 'at least one log directory is required');
  }
  const logDirs = dirs.map((d) => path.resolve(process.cwd(), d));
  if (new Set(logDirs).size !== logDirs.length) throw new ConfigError('log.dirs', 'a directory is listed twice');
  const metadataLogDir = given.has('metadata.log.dir') ? path.resolve(process.cwd(), value('metadata.log.dir') as string) : logDirs[0]!;

  const quorumVoters: PeerAddress[] = list('controller.quorum.voters').map((v) => {
    const m = VOTER_RE.exec(v)!;
    return { nodeId: Number(m[1]), host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[3]) };
  });
  const roles = list('process.roles');
  if (!roles.includes('controller') && quorumVoters.some((v) => v.nodeId === num('node.id'))) {
    throw new ConfigError('controller.quorum.voters', `node.id ${num('node.id')} is a voter, so process.roles must include controller`);
  }
  if (quorumVoters.length === 0 && !roles.includes('controller')) {
    throw new ConfigError('controller.quorum.voters', 'a node without the controller role needs the voters to reach');
  }
  if (quorumVoters.length === 0 && list('controller.quorum.bootstrap.servers').length > 0) {
    throw new ConfigError('controller.quorum.voters', 'required with controller.quorum.bootstrap.servers: the bootstrap voter set comes from it');
  }

  return {
    props: Object.freeze({ ...props }),
    nodeId: num('node.id'),
    processRoles: roles,
    listeners,
    advertisedListeners,
    listenerSecurityProtocols: protocols,
    controllerListenerNames,
    controllerQuorumVoters: list('controller.quorum.voters'),
    quorumVoters,
    quorumElectionTimeoutMs: num('controller.quorum.election.timeout.ms'),
    quorumFetchTimeoutMs: num('controller.quorum.fetch.timeout.ms'),
    quorumRequestTimeoutMs: num('controller.quorum.request.timeout.ms'),
    quorumAppendLingerMs: num('controller.quorum.append.linger.ms'),
    metadataLogDir,
    logDirs,
    numPartitions: num('num.partitions'),
    defaultReplicationFactor: num('default.replication.factor'),
    offsetsTopicReplicationFactor: num('offsets.topic.replication.factor'),
    transactionStateLogReplicationFactor: num('transaction.state.log.replication.factor'),
    brokerSessionTimeoutMs: num('broker.session.timeout.ms'),
    brokerHeartbeatIntervalMs: num('broker.heartbeat.interval.ms'),
    brokerRack: given.has('broker.rack') && value('broker.rack') !== '' ? value('broker.rack') as string : null,
    uncleanLeaderElectionEnable: bool('unclean.leader.election.enable'),
    autoLeaderRebalanceEnable: bool('auto.leader.rebalance.enable'),
    leaderImbalanceCheckIntervalMs: num('leader.imbalance.check.interval.seconds') * 1000,
    leaderImbalancePerBrokerPercentage: num('leader.imbalance.per.broker.percentage'),
    replicaLagTimeMaxMs: num('replica.lag.time.max.ms'),
    replicaFetchWaitMaxMs: num('replica.fetch.wait.max.ms'),
    replicaFetchMinBytes: num('replica.fetch.min.bytes'),
    replicaFetchMaxBytes: num('replica.fetch.max.bytes'),
    replicaFetchResponseMaxBytes: num('replica.fetch.response.max.bytes'),
    replicaFetchBackoffMs: num('replica.fetch.backoff.ms'),
    replicaSocketTimeoutMs: num('replica.socket.timeout.ms'),
    followerReplicationThrottledRate: num('follower.replication.throttled.rate'),
    leaderReplicationThrottledRate: num('leader.replication.throttled.rate'),
    metadataSnapshotMaxRecordBytes: num('metadata.log.max.record.bytes.between.snapshots'),
    metadataSnapshotIntervalMs: num('metadata.log.max.snapshot.interval.ms'),
    autoCreateTopicsEnable: bool('auto.create.topics.enable'),
    minInsyncReplicas: num('min.insync.replicas'),
    deleteTopicEnable: bool('delete.topic.enable'),
    retentionCheckIntervalMs: num('log.retention.check.interval.ms'),
    flushSchedulerIntervalMs: num('log.flush.scheduler.interval.ms'),
    flushOffsetCheckpointIntervalMs: num('log.flush.offset.checkpoint.interval.ms'),
    flushStartOffsetCheckpointIntervalMs: num('log.flush.start.offset.checkpoint.interval.ms'),
    logCleanerEnable: bool('log.cleaner.enable'),
    logCleanerThreads: num('log.cleaner.threads'),
    dedupeBufferSizeBytes: num('log.cleaner.dedupe.buffer.size'),
    logCleanerBackoffMs: num('log.cleaner.backoff.ms'),
    producerIdExpirationMs: num('producer.id.expiration.ms'),
    producerIdExpirationCheckIntervalMs: num('producer.id.expiration.check.interval.ms'),
    socketRequestMaxBytes: num('socket.request.max.bytes'),
    connectionsMaxIdleMs: num('connections.max.idle.ms'),
    plugins,
    pluginConfigs,
    defaultLogConfig: toLogConfig(props, {}),
  };
}

/** How a listener is written in properties and logs: `PLAINTEXT://:9092`, `X://[::1]:9093`. */
export function formatListener(l: Listener): string {
  return `${l.name}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}
