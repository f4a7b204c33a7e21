/**
 * @sluice/sdk: the only surface a plugin sees of Sluice.
 *
 * Stability levels, per export: `@stable` (changes only with a major version),
 * `@evolving` (may change in a minor version, with a note), `@internal` (not for plugins).
 * It carries the kernel seam (the typed events the kernel emits and the kernel API a
 * protocol frontend drives) and the typed hooks (`hooks.ts`): interceptors,
 * authentication, authorization and observers, with deadlines and fallbacks.
 */
import type { HandlerFor, HookName, HookOptions, HookRunner } from './hooks.js';
import type { BrokerDescription, ClusterEndpoint, ClusterTransport } from './cluster.js';

/**
 * A position in a partition's log, counted in records. Never a byte position.
 * Kafka offsets are int64; Sluice keeps them as safe integers (< 2^53), which
 * no partition reaches in practice, and asserts the bound where offsets are read.
 * @stable
 */
export type Offset = number & { readonly __brand: 'Offset' };

/** @stable */
export function asOffset(value: number): Offset {
  if (!Number.isSafeInteger(value)) throw new RangeError(`offset out of range: ${value}`);
  return value as Offset;
}

/** A topic partition. @stable */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Topic configuration as Kafka names it (`retention.ms`, `cleanup.policy`, ...). @stable */
export type TopicConfigs = Readonly<Record<string, string>>;

/** @stable */
export interface TopicDescription {
  readonly name: string;
  /** 16 random bytes, as Kafka's topic ids. */
  readonly topicId: Uint8Array;
  readonly partitions: number;
  /** Only the keys set on the topic; defaults come from the broker. */
  readonly configs: TopicConfigs;
}

/**
 * What the caller waits for before an append is acknowledged.
 * `leader`: written to the log (acks=1). `durable`: on disk, or on min.insync.replicas
 * replicas in a cluster (acks=all). `none`: nothing (acks=0).
 * @stable
 */
export type AppendAcks = 'none' | 'leader' | 'durable';

/** @stable */
export interface AppendResult {
  /** Offset given to the first record of the first batch. */
  readonly baseOffset: Offset;
  readonly lastOffset: Offset;
  /** LogAppendTime in ms when the topic uses it, else -1. */
  readonly logAppendTimeMs: number;
  readonly logStartOffset: Offset;
  /** Set when the batches repeat an idempotent producer's batch already in the log. */
  readonly duplicate: boolean;
}

/** @stable */
export type IsolationLevel = 'read_uncommitted' | 'read_committed';

/** @stable */
export interface ReadResult {
  /** Whole RecordBatch v2 batches, exactly as stored. Empty when nothing is readable. */
  readonly records: Uint8Array;
  readonly highWatermark: Offset;
  readonly lastStableOffset: Offset;
  readonly logStartOffset: Offset;
  readonly logEndOffset: Offset;
  /**
   * read_committed only (empty otherwise): the aborted transactions overlapping the
   * returned records, by first offset, so a consumer can drop their records.
   */
  readonly abortedTransactions: readonly AbortedTransaction[];
}

/** @evolving */
export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: Offset;
}

/**
 * The kernel's events. Observers only: a handler cannot change or refuse what happened.
 * Handlers run after the fact, synchronously, and must not block: do heavy work later.
 * @evolving
 */
export interface KernelEvents {
  'batch.appended': {
    readonly topic: string;
    readonly partition: number;
    readonly baseOffset: Offset;
    readonly lastOffset: Offset;
    readonly recordCount: number;
    readonly sizeBytes: number;
  };
  'segment.rolled': { readonly topic: string; readonly partition: number; readonly baseOffset: Offset };
  'segment.deleted': {
    readonly topic: string;
    readonly partition: number;
    readonly baseOffset: Offset;
    readonly reason: 'retention' | 'log-start-offset' | 'compaction' | 'truncation' | 'topic-deleted';
  };
  'topic.created': { readonly topic: TopicDescription };
  'topic.deleted': { readonly name: string; readonly topicId: Uint8Array };
  'topic.config.changed': { readonly name: string; readonly configs: TopicConfigs };
  /**
   * This node became or stopped being the leader of a partition it replicates (on a single
   * node: leader of every partition, announced as each opens). Coordinators that keep state
   * in a partition (groups, transactions) load it on `leader: true` and drop it on false.
   */
  'partition.leadership': { readonly topic: string; readonly partition: number; readonly leader: boolean; readonly leaderEpoch: number };
}

/** @evolving */
export type KernelEventName = keyof KernelEvents;

/** @evolving */
export type KernelEventHandler<N extends KernelEventName> = (event: KernelEvents[N]) => void;

/**
 * One partition of one topic, as a frontend drives it.
 * @evolving
 */
export interface PartitionHandle {
  readonly topic: string;
  readonly partition: number;
  /**
   * Appends one or more RecordBatch v2 batches (the buffer is rewritten in place: base
   * offsets, leader epoch, append time). Rejects with a `KafkaError` carrying the code.
   */
  append(batches: Uint8Array, acks: AppendAcks): Promise<AppendResult>;
  /** Whole batches from `offset`, up to `maxBytes` (the first batch even when larger). */
  read(offset: Offset, maxBytes: number, isolation: IsolationLevel): ReadResult;
  /**
   * Resolves when the high watermark (the last stable offset for read_committed) moves
   * past `offset`, or when `signal` aborts.
   */
  waitForData(offset: Offset, signal: AbortSignal, isolation?: IsolationLevel): Promise<void>;
  readonly logStartOffset: Offset;
  readonly logEndOffset: Offset;
  readonly highWatermark: Offset;
  readonly lastStableOffset: Offset;
  /** The leader epoch stamped on appended batches. */
  readonly leaderEpoch: number;
  /** Bytes on disk. */
  readonly sizeBytes: number;
  /** ListOffsets by time: the first offset whose record timestamp is >= `timestampMs`, below the high watermark. */
  offsetForTimestamp(timestampMs: number): { readonly offset: Offset; readonly timestampMs: number } | undefined;
  /** ListOffsets MAX_TIMESTAMP: the record with the largest timestamp below the high watermark. */
  maxTimestamp(): { readonly offset: Offset; readonly timestampMs: number } | undefined;
  /** OffsetForLeaderEpoch: the largest epoch <= `epoch` this log knows and where it ended (-1, -1 if none). */
  endOffsetForLeaderEpoch(epoch: number): { readonly leaderEpoch: number; readonly endOffset: number };
  /** DeleteRecords: moves the log start offset to `offset` (<= high watermark); resolves with the new start. */
  deleteRecordsBefore(offset: Offset): Promise<Offset>;
  /** DescribeProducers: the idempotent producers this partition remembers. */
  producers(): readonly ProducerDescription[];
  /**
   * Appends a COMMIT (`commit`) or ABORT marker ending the producer's transaction on this
   * partition; resolves once it is durable. Rejects with INVALID_PRODUCER_EPOCH for an
   * older producer epoch, TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch.
   */
  writeTxnMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number, commit: boolean): Promise<AppendResult>;
}

/** @evolving */
export interface ProducerDescription {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly lastSequence: number;
  readonly lastTimestampMs: number;
  /** Epoch of the coordinator that wrote the producer's last marker; -1 before any. */
  readonly coordinatorEpoch: number;
  /** First offset of the producer's open transaction; -1 when none is open. */
  readonly currentTxnStartOffset: number;
}

/** @evolving */
export interface PartitionDescription {
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** Where a config value comes from, as Kafka's DescribeConfigs reports it. @evolving */
export type ConfigSource = 'topic' | 'static-broker' | 'default';

/** @evolving */
export interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly source: ConfigSource;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
  readonly type: string;
  readonly doc: string;
  /** Values that would apply in order of precedence, the effective one first. */
  readonly synonyms: ReadonlyArray<{ readonly name: string; readonly value: string | null; readonly source: ConfigSource }>;
}

/** @evolving */
export interface LogDirDescription {
  readonly path: string;
  readonly totalBytes: number;
  readonly usableBytes: number;
  readonly partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly sizeBytes: number;
    readonly offsetLag: number }>;
}

/**
 * What the kernel offers plugins. The kernel implements it; plugins never implement it.
 * @evolving @sealed
 */
export interface Kernel {
  readonly nodeId: number;
  readonly clusterId: string;
  listTopics(): readonly TopicDescription[];
  describeTopic(name: string): TopicDescription | undefined;
  /**
   * Rejects with a KafkaError: TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_CONFIG.
   * `replicationFactor` (absent or -1: `default.replication.factor`) and `assignments` (explicit replicas per
   * partition, which then fix the partition count) are for the controller's placement (@experimental).
   */
  createTopic(name: string, partitions: number, configs: TopicConfigs, options?: {
    validateOnly?: boolean;
    replicationFactor?: number;
    assignments?: ReadonlyArray<{ readonly partitionIndex: number; readonly brokerIds: readonly number[] }>;
  }): Promise<TopicDescription>;
  /** Grows a topic to `totalCount` partitions. */
  createPartitions(name: string, totalCount: number, options?: { validateOnly?: boolean }): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  /** Sets (string) or removes (null) topic config overrides, validated as a whole, applied live. */
  alterTopicConfigs(name: string, changes: Readonly<Record<string, string | null>>, options?: { validateOnly?: boolean }): Promise<void>;
  partition(topic: string, partition: number): PartitionHandle | undefined;
  /** Leader, epoch, replicas and ISR of each partition of a topic (empty for an unknown topic). */
  topicPartitions(name: string): readonly PartitionDescription[];
  /** Every topic config with its effective value and source; undefined for an unknown topic. */
  describeTopicConfigs(name: string): readonly ConfigEntry[] | undefined;
  /**
   * What describeTopicConfigs would report for a topic with these overrides, for answers
   * about a topic that does not exist (CreateTopics validate_only). Throws on invalid overrides.
   */
  describeTopicConfigsFor(overrides: TopicConfigs): readonly ConfigEntry[];
  /** The broker's properties as DescribeConfigs reports them (BROKER resource). */
  describeBrokerConfigs(): readonly ConfigEntry[];
  logDirs(): readonly LogDirDescription[];
  /** A new producer id for an idempotent producer, from blocks recorded in the metadata log. */
  allocateProducerId(): Promise<number>;
  /** Brokers the metadata image knows, this one included. @experimental */
  brokers(): readonly BrokerDescription[];
  /** The active controller's node id, -1 while unknown. @experimental */
  controllerId(): number;
  /** Where the `cluster.transport` provider hands the cluster RPCs it receives. @experimental */
  readonly cluster: ClusterEndpoint;
  on<N extends KernelEventName>(name: N, handler: KernelEventHandler<N>): () => void;
}

/** @stable */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * The version of this SDK, which a plugin's `manifest.sdk` range is checked against.
 * Equal to @sluice/sdk's package.json version (a test checks).
 * @stable
 */
export const SDK_VERSION = '0.1.0';

/** A JSON Schema (draft-07, validated with ajv). @evolving */
export type JsonSchema = Readonly<Record<string, unknown>>;

/**
 * What a plugin declares about itself; checked by the kernel before `start`.
 * @evolving
 */
export interface PluginManifest {
  readonly id: string;
  readonly version: string;
  /** A semver range of @sluice/sdk versions the plugin works with (`^0.1.0`); not checked when absent. */
  readonly sdk?: string;
  /** Ids of plugins that must have started before this one (listed earlier in `plugins=`). */
  readonly dependsOn?: readonly string[];
  /** When true, a failure to start stops the broker instead of disabling the plugin. */
  readonly required?: boolean;
  /**
   * The plugin's keys (server.properties `<short name>.<key>`, prefix removed) as a JSON
   * Schema for an object whose values are the properties' strings; `type: "integer"`,
   * `"number"` and `"boolean"` accept their string forms. Validated before `start`; a
   * mismatch fails the start. `sluice plugins info` lists its properties.
   */
  readonly configSchema?: JsonSchema;
  /** One line for `sluice plugins list|info`. */
  readonly description?: string;
}

/** A listener from `listeners` / `advertised.listeners`. @evolving */
export interface ListenerAddress {
  /** Upper-case listener name, e.g. PLAINTEXT. */
  readonly name: string;
  /** Empty: all interfaces. */
  readonly host: string;
  readonly port: number;
  /** From listener.security.protocol.map: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL. */
  readonly securityProtocol: string;
}

/** What a plugin may know of the broker it runs in. @evolving */
export interface BrokerInfo {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly listeners: readonly ListenerAddress[];
  readonly advertisedListeners: readonly ListenerAddress[];
  /** All broker properties as given (Kafka names), for the keys a plugin implements. */
  readonly props: Readonly<Record<string, string>>;
}

/** @evolving */
export interface PluginContext {
  readonly kernel: Kernel;
  readonly broker: BrokerInfo;
  readonly log: Logger;
  /** The server.properties keys under the plugin's id prefix (`<id>.<key>`), prefix removed. */
  readonly config: Readonly<Record<string, string>>;
  /** Aborted when the broker begins to stop. */
  readonly signal: AbortSignal;
  /**
   * Registers a hook handler; returns a function that removes it. Allowed while plugins
   * start (the order is fixed once all have started) and removed when this plugin stops.
   * @evolving
   */
  on<N extends HookName>(name: N, handler: HandlerFor<N>, options?: HookOptions): () => void;
  /** For frontends: calls the hooks other plugins registered. @evolving */
  readonly hooks: HookRunner;
  /**
   * Offers the broker's one implementation of a capability (see `ProviderSpecs`). A second
   * plugin providing the same capability fails to start. Allowed while plugins start.
   * @experimental
   */
  provide<N extends ProviderName>(name: N, implementation: ProviderSpecs[N]): void;
}

/**
 * Capabilities that have exactly one implementation in a broker, by name. The kernel
 * looks a provider up when it needs the capability; a broker without one runs without it
 * (a single node needs no `cluster.transport`).
 * @experimental
 */
export interface ProviderSpecs {
  /** How this node reaches the others: the cluster RPCs (see cluster.ts). */
  'cluster.transport': ClusterTransport;
}

/** @experimental */
export type ProviderName = keyof ProviderSpecs;

/** @evolving */
export interface SluicePlugin {
  readonly manifest: PluginManifest;
  start(ctx: PluginContext): void | Promise<void>;
  /**
   * Called once the broker is ready for clients, after every plugin started: on a node of a
   * cluster, once its metadata has caught up with the quorum and the controller has
   * unfenced it (where Kafka opens its broker listeners). A frontend opens its client
   * listeners here, so no client is answered from metadata that is not caught up yet; what
   * the quorum itself needs to get there (the controller listener) opens in `start`. A
   * rejection counts as a failed start. @evolving
   */
  serve?(): void | Promise<void>;
  stop?(): void | Promise<void>;
}

/** Identity helper that lets the compiler check a plugin's shape. @stable */
export function definePlugin<P extends SluicePlugin>(plugin: P): P {
  return plugin;
}

/**
 * A Kafka protocol error code carried by an error. Frontends map it onto the wire as is.
 * @stable
 */
const KAFKA_ERROR_BRAND = Symbol.for('sluice.KafkaError');

export class KafkaError extends Error {
  /** Brand checked by `is`, so errors from another copy of the SDK are recognised too. */
  readonly [KAFKA_ERROR_BRAND] = true;
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
    this.name = 'KafkaError';
  }
  static is(value: unknown): value is KafkaError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[KAFKA_ERROR_BRAND] === true;
  }
}

export * from './cli.js';
export * from './cluster.js';
export * from './hooks.js';
export * from './properties.js';
