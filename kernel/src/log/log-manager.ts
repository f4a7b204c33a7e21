/**
 * All partition logs of a broker across its `log.dirs`, the metadata log that names
 * them, and the background work on them: retention, flush of write-cached topics,
 * producer-id expiry, checkpoints, compaction. Which partitions are open here is decided
 * by replication following the metadata image (cluster/cluster-node.ts); topic changes go
 * through the controller.
 *
 * Files per log dir (beside `meta.properties`):
 *   recovery-point-offset-checkpoint  flushed offset per partition: recovery starts there
 *   log-start-offset-checkpoint       log start offset per partition (DeleteRecords, retention)
 *   .sluice_cleanshutdown             present only between a clean stop and the next start
 *
 * A clean stop flushes every log, writes both checkpoints and then the marker. At start
 * the marker is read and deleted before anything else is written, so a later crash is
 * never mistaken for a clean stop.
 */
import { existsSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigEntry, LogDirDescription, Logger, PartitionDescription, TopicDescription } from '@sluice/sdk';
import type { Clock } from '../clock.js';
import { resolveTopicConfigs, TOPIC_CONFIG_DEFS, toLogConfig, type LogConfig } from '../config/topic-config.js';
import { kafkaError } from '../errors.js';
import type { KernelEventBus } from '../events.js';
import { MetadataLog, METADATA_TOPIC, type MetadataQuorumSettings } from '../metadata/metadata-log.js';
import { atomicWriteFileSync, readCheckpoint, writeCheckpoint } from './checkpoint-file.js';
import { LogCleaner } from './cleaner.js';
import { PartitionLog, type PartitionLogEvents } from './partition-log.js';

const CLEAN_SHUTDOWN_FILE = '.sluice_cleanshutdown';
const RECOVERY_POINT_FILE = 'recovery-point-offset-checkpoint';
const LOG_START_FILE = 'log-start-offset-checkpoint';
/** Kafka's limit: a partition directory name must fit a file name with room for suffixes. */
const TOPIC_NAME_LENGTH_MAX = 249;
/** Bound on partitions per topic, so one request cannot ask for millions of directories. */
export const TOPIC_PARTITIONS_MAX = 10_000;
/** A partition whose recovery takes longer than this is logged. */
const SLOW_OPEN_LOG_MS = 1000;
/** How often write-cached logs are checked for flush.ms when log.flush.scheduler.interval.ms is unset. */
const FLUSH_CHECK_DEFAULT_MS = 1000;

export interface LogManagerOptions {
  readonly logDirs: readonly string[];
  /** Broker properties: topic defaults are resolved from them (log.retention.ms, ...). */
  readonly brokerProps: Readonly<Record<string, string>>;
  readonly nodeId: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: KernelEventBus;
  readonly retentionCheckIntervalMs: number;
  readonly flushSchedulerIntervalMs: number;
  readonly flushOffsetCheckpointIntervalMs: number;
  readonly producerIdExpirationMs: number;
  readonly producerIdExpirationCheckIntervalMs: number;
  /** log.cleaner.enable: compaction of cleanup.policy=compact topics. */
  readonly cleanerEnable: boolean;
  /** log.cleaner.dedupe.buffer.size: memory for the cleaner's key map. */
  readonly cleanerKeyMapBytesMax: number;
  /** log.cleaner.backoff.ms: how often logs are checked for cleaning. */
  readonly cleanerBackoffMs: number;
  /** metadata.log.dir: where `__cluster_metadata-0` lives (default: the first log dir). */
  readonly metadataLogDir?: string;
  /** This node's place in the metadata quorum; omitted: a sole voter. */
  readonly quorum?: MetadataQuorumSettings;
}

/** What the last stop left behind, read once at open and used as each partition opens. */
interface StartState {
  readonly clean: ReadonlyMap<string, boolean>;
  readonly recoveryPoints: ReadonlyMap<string, number>;
  readonly startOffsets: ReadonlyMap<string, number>;
}

interface PartitionEntry {
  readonly log: PartitionLog;
  readonly logDir: string;
}

export function validateTopicName(name: string): void {
  if (name.length === 0 || name === '.' || name === '..') throw kafkaError('INVALID_TOPIC_EXCEPTION', `invalid topic name "${name}"`);
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    throw kafkaError('INVALID_TOPIC_EXCEPTION', `topic name longer than ${TOPIC_NAME_LENGTH_MAX} characters`);
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    throw kafkaError('INVALID_TOPIC_EXCEPTION', `topic name "${name}" may only contain ASCII letters, digits, '.', '_' and '-'`);
  }
  if (name === METADATA_TOPIC) throw kafkaError('INVALID_TOPIC_EXCEPTION', `${METADATA_TOPIC} is reserved`);
}

export class LogManager {
  private readonly partitions = new Map<string, PartitionEntry>();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private readonly cleaner: LogCleaner | undefined;
  private cleaning = false;

  private constructor(
    private readonly opts: LogManagerOptions,
    readonly metadata: MetadataLog,
    private readonly partitionEvents: PartitionLogEvents,
    private readonly startState: StartState,
  ) {
    this.cleaner = opts.cleanerEnable ? new LogCleaner({ log: opts.log, keyMapBytesMax: opts.cleanerKeyMapBytesMax }) : undefined;
  }

  static open(opts: LogManagerOptions): LogManager {
    const clean = new Map<string, boolean>();
    const recoveryPoints = new Map<string, number>();
    const startOffsets = new Map<string, number>();
    for (const dir of opts.logDirs) {
      clean.set(dir, existsSync(join(dir, CLEAN_SHUTDOWN_FILE)));
      for (const [file, into] of [[RECOVERY_POINT_FILE, recoveryPoints], [LOG_START_FILE, startOffsets]] as const) {
        for (const line of readCheckpoint(join(dir, file)) ?? []) {
          const [topic, partition, offset] = line.split(' ');
          if (topic !== undefined && partition !== undefined && offset !== undefined) into.set(`${topic}-${partition}`, Number(offset));
        }
      }
      // From here on a crash must look like a crash.
      rmSync(join(dir, CLEAN_SHUTDOWN_FILE), { force: true });
    }
    const metaDir = opts.metadataLogDir ?? opts.logDirs[0]!;
    const metadata = MetadataLog.open({
      logDir: metaDir, clock: opts.clock, log: opts.log, cleanShutdown: clean.get(metaDir) === true,
      recoveryPoint: recoveryPoints.get(`${METADATA_TOPIC}-0`) ?? 0,
      ...(opts.quorum !== undefined ? { quorum: opts.quorum } : {}),
    });
    const manager: LogManager = new LogManager(opts, metadata, eventsFor(opts.events, () => manager.writeCheckpoints()),
      { clean, recoveryPoints, startOffsets });
    manager.writeCheckpoints();
    manager.startSchedulers();
    return manager;
  }

  // --- topics --------------------------------------------------------------------

  topicNames(): string[] {
    return [...this.metadata.image.topicsByName.keys()];
  }

  describeTopic(name: string): TopicDescription | undefined {
    const t = this.metadata.image.topicsByName.get(name);
    if (t === undefined) return undefined;
    return { name: t.name, topicId: t.topicId, partitions: t.partitions.size, configs: Object.fromEntries(t.configs) };
  }

  listTopics(): TopicDescription[] {
    return this.topicNames().map((n) => this.describeTopic(n)!);
  }

  /** The effective log config of a topic (its overrides over the broker's defaults). */
  effectiveConfig(overrides: Readonly<Record<string, string>>): LogConfig {
    return toLogConfig(this.opts.brokerProps, overrides);
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.partitions.get(`${topic}-${partition}`)?.log;
  }

  /**
   * The local log of a partition this node replicates (replication's `openLog`): opened
   * with recovery from the last stop's checkpoints, or created empty. `replicated`: it has
   * other replicas, so it opens refusing clients until replication makes it leader.
   */
  openReplicaLog(topicName: string, partition: number, replicated: boolean): PartitionLog {
    const key = `${topicName}-${partition}`;
    const existing = this.partitions.get(key);
    if (existing !== undefined) return existing.log;
    const topic = this.metadata.image.topicsByName.get(topicName);
    if (topic === undefined) throw new Error(`partition ${key} of a topic the metadata image does not have`);
    const logDir = this.findOrChooseLogDir(key);
    const started = this.opts.clock.nowMs();
    const log = PartitionLog.open({
      dir: join(logDir, key), topic: topic.name, partition, config: this.effectiveConfig(Object.fromEntries(topic.configs)),
      clock: this.opts.clock, log: this.opts.log, events: this.partitionEvents, replicated,
      cleanShutdown: this.startState.clean.get(logDir) === true,
      recoveryPoint: this.startState.recoveryPoints.get(key) ?? 0, logStartOffset: this.startState.startOffsets.get(key) ?? 0,
    });
    if (this.opts.clock.nowMs() - started > SLOW_OPEN_LOG_MS) {
      this.opts.log.info('partition log opened', { topic: topicName, partition, ms: this.opts.clock.nowMs() - started });
    }
    this.partitions.set(key, { log, logDir });
    return log;
  }

  /** This node no longer replicates the partition (topic deleted or replica moved): its files go. */
  async dropReplicaLog(topic: string, partition: number): Promise<void> {
    const key = `${topic}-${partition}`;
    const entry = this.partitions.get(key);
    if (entry === undefined) return;
    this.partitions.delete(key);
    this.cleaner?.forgetLog(entry.log);
    await entry.log.close().catch(() => undefined);
    entry.log.deleteAll();
    this.writeCheckpoints();
  }

  /** A topic's config overrides changed in the image: its local logs take the new effective config. */
  applyTopicConfigs(name: string): void {
    const topic = this.metadata.image.topicsByName.get(name);
    if (topic === undefined) return;
    const config = this.effectiveConfig(Object.fromEntries(topic.configs));
    for (const p of topic.partitions.keys()) {
      const log = this.partition(name, p);
      if (log !== undefined) log.config = config;
    }
  }

  /** Called once the first metadata image has been applied: directories no topic names are reported. */
  loaded(): void {
    this.warnAboutStrayDirs();
    this.opts.log.info('logs loaded', { partitions: this.partitions.size });
  }

  topicPartitions(name: string): PartitionDescription[] {
    const topic = this.metadata.image.topicsByName.get(name);
    if (topic === undefined) return [];
    return [...topic.partitions.entries()].sort((a, b) => a[0] - b[0]).map(([partition, p]) => ({
      partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr,
    }));
  }

  /** Every topic config with its effective value, source and synonyms (DescribeConfigs). */
  describeTopicConfigs(name: string): ConfigEntry[] | undefined {
    const topic = this.metadata.image.topicsByName.get(name);
    if (topic === undefined) return undefined;
    return this.describeTopicConfigsFor(Object.fromEntries(topic.configs));
  }

  /** What describeTopicConfigs reports for a topic with these (valid) overrides. */
  describeTopicConfigsFor(overrides: Readonly<Record<string, string>>): ConfigEntry[] {
    const effective = resolveTopicConfigs(this.opts.brokerProps, overrides);
    return TOPIC_CONFIG_DEFS.map((def) => {
      const e = effective.get(def.name)!;
      const synonyms: Array<ConfigEntry['synonyms'][number]> = [];
      if (overrides[def.name] !== undefined) synonyms.push({ name: def.name, value: overrides[def.name]!, source: 'topic' });
      for (const [key] of def.synonyms) {
        const raw = this.opts.brokerProps[key];
        if (raw !== undefined) synonyms.push({ name: key, value: raw, source: 'static-broker' });
      }
      synonyms.push({ name: def.synonyms[0]?.[0] ?? def.name, value: def.default, source: 'default' });
      return {
        name: def.name, value: e.raw, source: e.source === 'topic' ? 'topic' : e.source === 'broker' ? 'static-broker' : 'default',
        readOnly: false, sensitive: false, type: def.type, doc: def.doc, synonyms,
      };
    });
  }

  logDirs(): LogDirDescription[] {
    return this.opts.logDirs.map((path) => {
      const fs = statfsSync(path);
      const partitions = [...this.partitions.values()].filter((e) => e.logDir === path).map(({ log }) => ({
        topic: log.topic, partition: log.partition, sizeBytes: log.sizeBytes, offsetLag: log.logEndOffset - log.highWatermark,
      }));
      return { path, totalBytes: fs.blocks * fs.bsize, usableBytes: fs.bavail * fs.bsize, partitions };
    });
  }

  // --- partitions on disk ----------------------------------------------------------

  /** The log dir holding `<topic>-<partition>`, or the one with the fewest partitions for a new one. */
  private findOrChooseLogDir(key: string): string {
    for (const dir of this.opts.logDirs) if (existsSync(join(dir, key))) return dir;
    const counts = new Map(this.opts.logDirs.map((d) => [d, 0]));
    for (const entry of this.partitions.values()) counts.set(entry.logDir, (counts.get(entry.logDir) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => a[1] - b[1])[0]![0];
  }

  private warnAboutStrayDirs(): void {
    for (const dir of this.opts.logDirs) {
      for (const name of readdirSync(dir, { withFileTypes: true })) {
        if (!name.isDirectory() || name.name === `${METADATA_TOPIC}-0`) continue;
        if (!/-\d+$/.test(name.name) || this.partitions.has(name.name)) continue;
        this.opts.log.warn('log directory belongs to no topic in the metadata log; left untouched', { path: join(dir, name.name) });
      }
    }
  }

  // --- background work --------------------------------------------------------------

  private startSchedulers(): void {
    const every = (ms: number, fn: () => void): void => {
      if (!Number.isFinite(ms) || ms <= 0) return;
      const timer = setInterval(() => {
        try {
          fn();
        } catch (err) {
          this.opts.log.error('background log task failed', { error: (err as Error).message });
        }
      }, Math.min(ms, 2 ** 31 - 1));
      timer.unref();
      this.timers.push(timer);
    };
    every(this.opts.retentionCheckIntervalMs, () => this.applyRetention());
    every(Number.isFinite(this.opts.flushSchedulerIntervalMs) ? this.opts.flushSchedulerIntervalMs : FLUSH_CHECK_DEFAULT_MS,
      () => this.flushDue());
    every(this.opts.flushOffsetCheckpointIntervalMs, () => this.writeCheckpoints());
    every(this.opts.producerIdExpirationCheckIntervalMs, () => this.expireProducers());
    if (this.cleaner !== undefined) every(this.opts.cleanerBackoffMs, () => void this.cleanLogs());
  }

  /**
   * One pass of the cleaner over the compacted logs that need it, one log at a time. A
   * pass still running when the next tick comes is not doubled.
   */
  async cleanLogs(): Promise<number> {
    if (this.cleaner === undefined || this.cleaning || this.closed) return 0;
    this.cleaning = true;
    let cleaned = 0;
    try {
      for (const { log } of [...this.partitions.values()]) {
        if (this.closed) break;
        if (!log.config.cleanupPolicyCompact || log.offline || !this.cleaner.needsCleaning(log, this.opts.clock.nowMs())) continue;
        try {
          const result = await this.cleaner.cleanLog(log, this.opts.clock.nowMs());
          if (!result.aborted) cleaned++;
        } catch (err) {
          this.opts.log.error('compaction failed; the partition is not cleaned again until restart', {
            topic: log.topic, partition: log.partition, error: (err as Error).message,
          });
        }
      }
    } finally {
      this.cleaning = false;
    }
    return cleaned;
  }

  applyRetention(): number {
    const now = this.opts.clock.nowMs();
    let deleted = 0;
    for (const { log } of this.partitions.values()) deleted += log.applyRetention(now);
    if (deleted > 0) this.writeCheckpoints();
    return deleted;
  }

  private flushDue(): void {
    const now = this.opts.clock.nowMs();
    for (const { log } of this.partitions.values()) if (log.config.writeCaching) log.flushIfDue(now);
  }

  private expireProducers(): void {
    const now = this.opts.clock.nowMs();
    for (const { log } of this.partitions.values()) log.expireProducers(now, this.opts.producerIdExpirationMs);
  }

  /** Writes recovery points and log start offsets of every partition, per log dir. */
  writeCheckpoints(): void {
    for (const dir of this.opts.logDirs) {
      const recovery: string[] = [];
      const starts: string[] = [];
      const add = (log: PartitionLog): void => {
        recovery.push(`${log.topic} ${log.partition} ${log.flushedOffset}`);
        starts.push(`${log.topic} ${log.partition} ${log.logStartOffset}`);
      };
      if (dir === this.opts.logDirs[0]) add(this.metadata.partitionLog);
      for (const entry of this.partitions.values()) if (entry.logDir === dir && !entry.log.offline) add(entry.log);
      writeCheckpoint(join(dir, RECOVERY_POINT_FILE), recovery);
      writeCheckpoint(join(dir, LOG_START_FILE), starts);
    }
  }

  /** Flushes and closes every log, writes checkpoints, then the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const logs = [...this.partitions.values()].map((e) => e.log);
    const results = await Promise.allSettled([...logs.map((l) => l.close()), this.metadata.close()]);
    this.writeCheckpoints();
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0 || logs.some((l) => l.offline)) {
      this.opts.log.error('some logs could not be flushed; the next start will run recovery', { failed: failed.length });
      return;
    }
    for (const dir of this.opts.logDirs) atomicWriteFileSync(join(dir, CLEAN_SHUTDOWN_FILE), '');
  }
}

function eventsFor(bus: KernelEventBus, checkpoint: () => void): PartitionLogEvents {
  return {
    logStartOffsetChanged: checkpoint,
    truncated: checkpoint,
    batchAppended(log, baseOffset, lastOffset, recordCount, sizeBytes) {
      if (!bus.has('batch.appended')) return;
      bus.emit('batch.appended', {
        topic: log.topic, partition: log.partition, baseOffset: baseOffset as never, lastOffset: lastOffset as never,
        recordCount, sizeBytes,
      });
    },
    segmentRolled(log, baseOffset) {
      if (bus.has('segment.rolled')) bus.emit('segment.rolled', { topic: log.topic, partition: log.partition, baseOffset: baseOffset as never });
    },
    segmentDeleted(log, baseOffset, reason) {
      if (bus.has('segment.deleted')) {
        bus.emit('segment.deleted', { topic: log.topic, partition: log.partition, baseOffset: baseOffset as never, reason });
      }
    },
  };
}
