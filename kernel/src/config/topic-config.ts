/**
 * Topic-level configs, named as Kafka names them, each with the broker properties that
 * set its default (Kafka's "synonyms", most specific first: `log.retention.ms` wins over
 * `log.retention.minutes` over `log.retention.hours`).
 */
import { ConfigError, parseConfigValue, type ConfigDef, type ConfigValue } from './config-def.js';

const LONG_MAX = '9223372036854775807';
const DAY_MS = 86_400_000;

export interface TopicConfigDef extends ConfigDef {
  /** Broker keys that set the default, most specific first, with a multiplier to this key's unit. */
  readonly synonyms: ReadonlyArray<readonly [key: string, scale: number]>;
}

export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  {
    name: 'cleanup.policy', type: 'list', default: 'delete', oneOf: ['delete', 'compact'],
    doc: 'delete: segments older or larger than retention go; compact: the last record per key is kept.',
    synonyms: [['log.cleanup.policy', 1]],
  },
  {
    name: 'compression.type', type: 'string', default: 'producer',
    oneOf: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'],
    doc: 'producer: batches are stored as sent; any other value: the codec stored batches use.',
    synonyms: [['compression.type', 1]],
  },
  {
    name: 'delete.retention.ms', type: 'long', default: String(DAY_MS), min: 0,
    doc: 'How long tombstones survive compaction, so that consumers see the delete.',
    synonyms: [['log.cleaner.delete.retention.ms', 1]],
  },
  {
    name: 'file.delete.delay.ms', type: 'long', default: '60000', min: 0,
    doc: 'Accepted for compatibility. Deleted segments are removed at once: reads never outlive the call that makes them.',
    synonyms: [['log.segment.delete.delay.ms', 1]],
  },
  {
    name: 'flush.messages', type: 'long', default: LONG_MAX, min: 1,
    doc: 'With write caching on: fdatasync after this many messages.',
    synonyms: [['log.flush.interval.messages', 1]],
  },
  {
    name: 'flush.ms', type: 'long', default: LONG_MAX, min: 0,
    doc: 'With write caching on: fdatasync when the oldest unflushed message is this old.',
    synonyms: [['log.flush.interval.ms', 1]],
  },
  {
    name: 'follower.replication.throttled.replicas', type: 'list', default: '', check: checkThrottledReplicas,
    doc: 'Replicas whose fetches a follower throttles to follower.replication.throttled.rate while they are out of the ISR: ' +
      'partition:broker pairs (0:2,1:3) or * for all.',
    synonyms: [],
  },
  {
    name: 'index.interval.bytes', type: 'int', default: '4096', min: 0,
    doc: 'Bytes of log between two offset-index entries.',
    synonyms: [['log.index.interval.bytes', 1]],
  },
  {
    name: 'leader.replication.throttled.replicas', type: 'list', default: '', check: checkThrottledReplicas,
    doc: 'Replicas whose fetches a leader throttles to leader.replication.throttled.rate while the fetching follower is out of the ISR: ' +
      'partition:broker pairs naming the leader (0:1,1:2) or * for all.',
    synonyms: [],
  },
  {
    name: 'max.compaction.lag.ms', type: 'long', default: LONG_MAX, min: 1,
    doc: 'Longest time a record may stay uncompacted.',
    synonyms: [['log.cleaner.max.compaction.lag.ms', 1]],
  },
  {
    name: 'max.message.bytes', type: 'int', default: '1048588', min: 0,
    doc: 'Largest record batch the topic accepts.',
    synonyms: [['message.max.bytes', 1]],
  },
  {
    name: 'message.timestamp.type', type: 'string', default: 'CreateTime', oneOf: ['CreateTime', 'LogAppendTime'],
    doc: 'CreateTime keeps the producer\'s timestamps; LogAppendTime stamps the broker\'s clock.',
    synonyms: [['log.message.timestamp.type', 1]],
  },
  {
    name: 'min.cleanable.dirty.ratio', type: 'double', default: '0.5', min: 0, max: 1,
    doc: 'Compaction starts when this share of the log is not yet compacted.',
    synonyms: [['log.cleaner.min.cleanable.ratio', 1]],
  },
  {
    name: 'min.compaction.lag.ms', type: 'long', default: '0', min: 0,
    doc: 'Records younger than this are not compacted.',
    synonyms: [['log.cleaner.min.compaction.lag.ms', 1]],
  },
  {
    name: 'min.insync.replicas', type: 'int', default: '1', min: 1,
    doc: 'Replicas that must have an acks=all write before it is acknowledged.',
    synonyms: [['min.insync.replicas', 1]],
  },
  {
    name: 'retention.bytes', type: 'long', default: '-1',
    doc: 'Largest size of a partition before old segments are deleted; -1: no limit.',
    synonyms: [['log.retention.bytes', 1]],
  },
  {
    name: 'retention.ms', type: 'long', default: String(7 * DAY_MS), min: -1,
    doc: 'Age after which segments are deleted; -1: no limit.',
    synonyms: [['log.retention.ms', 1], ['log.retention.minutes', 60_000], ['log.retention.hours', 3_600_000]],
  },
  {
    name: 'segment.bytes', type: 'int', default: '1073741824', min: 1024,
    doc: 'Segment file size at which a new segment starts.',
    synonyms: [['log.segment.bytes', 1]],
  },
  {
    name: 'segment.index.bytes', type: 'int', default: '10485760', min: 8,
    doc: 'Largest offset index; a full index rolls the segment.',
    synonyms: [['log.index.size.max.bytes', 1]],
  },
  {
    name: 'segment.ms', type: 'long', default: String(7 * DAY_MS), min: 1,
    doc: 'Time after the first append to a segment (broker clock) at which a new segment starts.',
    synonyms: [['log.roll.ms', 1], ['log.roll.hours', 3_600_000]],
  },
  {
    name: 'write.caching', type: 'boolean', default: 'false',
    doc: 'false (default): acks=all waits for fdatasync and consumers see only synced data. ' +
      'true: acks=all is answered after the write to the OS; data is synced by flush.messages / flush.ms.',
    synonyms: [['log.write.caching', 1]],
  },
];

/** `*`, or `partition:broker` pairs, as Kafka's ThrottledReplicaListValidator takes them. */
function checkThrottledReplicas(value: ConfigValue): string | undefined {
  const bad = (value as readonly string[]).find((entry) => entry !== '*' && !/^\d+:\d+$/.test(entry));
  return bad === undefined ? undefined : `"${bad}" is neither * nor partition:broker (e.g. 0:1,1:2)`;
}

const DEFS_BY_NAME = new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));

export function topicConfigDef(name: string): TopicConfigDef | undefined {
  return DEFS_BY_NAME.get(name);
}

/** The typed view of a topic's effective configuration that the log reads. */
export interface LogConfig {
  readonly cleanupPolicyDelete: boolean;
  readonly cleanupPolicyCompact: boolean;
  readonly compressionType: string;
  readonly deleteRetentionMs: number;
  readonly fileDeleteDelayMs: number;
  readonly flushMessages: number;
  readonly flushMs: number;
  /** follower.replication.throttled.replicas: `partition:broker` pairs or `*`. */
  readonly followerReplicationThrottledReplicas: readonly string[];
  readonly indexIntervalBytes: number;
  /** leader.replication.throttled.replicas: `partition:broker` pairs or `*`. */
  readonly leaderReplicationThrottledReplicas: readonly string[];
  readonly maxCompactionLagMs: number;
  readonly maxMessageBytes: number;
  readonly logAppendTime: boolean;
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
  readonly minInsyncReplicas: number;
  readonly retentionBytes: number;
  readonly retentionMs: number;
  readonly segmentBytes: number;
  readonly segmentIndexBytes: number;
  readonly segmentMs: number;
  readonly writeCaching: boolean;
}

/** Validates topic-level overrides; throws ConfigError naming the key. Unknown keys are errors here. */
export function validateTopicConfigs(overrides: Readonly<Record<string, string>>): void {
  for (const [key, raw] of Object.entries(overrides)) {
    const def = DEFS_BY_NAME.get(key);
    if (def === undefined) throw new ConfigError(key, 'unknown topic config');
    parseConfigValue(def, raw);
  }
}

/**
 * The effective value of every topic config: the topic's override, else the broker's
 * synonym (scaled to the topic key's unit), else Kafka's default.
 */
export function resolveTopicConfigs(
  brokerProps: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>>,
): Map<string, { value: ConfigValue; source: 'topic' | 'broker' | 'default'; raw: string }> {
  const out = new Map<string, { value: ConfigValue; source: 'topic' | 'broker' | 'default'; raw: string }>();
  for (const def of TOPIC_CONFIG_DEFS) {
    const own = overrides[def.name];
    if (own !== undefined) {
      out.set(def.name, { value: parseConfigValue(def, own), source: 'topic', raw: own });
      continue;
    }
    let found = false;
    for (const [key, scale] of def.synonyms) {
      const raw = brokerProps[key];
      if (raw === undefined) continue;
      const parsed = parseConfigValue({ ...def, name: key, min: undefined, max: undefined }, raw);
      // A negative retention in hours or minutes still means "no limit", not -3600000 ms.
      const value = typeof parsed === 'number' && scale !== 1 ? (parsed < 0 ? -1 : parsed * scale) : parsed;
      const scaledRaw = scale === 1 ? raw : String(value);
      // The operator wrote the broker key, so a rule it breaks is reported under that key.
      out.set(def.name, { value: parseConfigValue({ ...def, name: key }, scaledRaw), source: 'broker', raw: scaledRaw });
      found = true;
      break;
    }
    if (!found) out.set(def.name, { value: parseConfigValue(def, def.default ?? ''), source: 'default', raw: def.default ?? '' });
  }
  return out;
}

export function toLogConfig(
  brokerProps: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>>,
): LogConfig {
  const c = resolveTopicConfigs(brokerProps, overrides);
  const get = (name: string): ConfigValue => c.get(name)!.value;
  const num = (name: string): number => get(name) as number;
  const policy = get('cleanup.policy') as readonly string[];
  return {
    cleanupPolicyDelete: policy.includes('delete'),
    cleanupPolicyCompact: policy.includes('compact'),
    compressionType: get('compression.type') as string,
    deleteRetentionMs: num('delete.retention.ms'),
    fileDeleteDelayMs: num('file.delete.delay.ms'),
    flushMessages: num('flush.messages'),
    flushMs: num('flush.ms'),
    followerReplicationThrottledReplicas: get('follower.replication.throttled.replicas') as readonly string[],
    indexIntervalBytes: num('index.interval.bytes'),
    leaderReplicationThrottledReplicas: get('leader.replication.throttled.replicas') as readonly string[],
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    maxMessageBytes: num('max.message.bytes'),
    logAppendTime: get('message.timestamp.type') === 'LogAppendTime',
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    minInsyncReplicas: num('min.insync.replicas'),
    retentionBytes: num('retention.bytes'),
    retentionMs: num('retention.ms'),
    segmentBytes: num('segment.bytes'),
    segmentIndexBytes: num('segment.index.bytes'),
    segmentMs: num('segment.ms'),
    writeCaching: get('write.caching') as boolean,
  };
}
