/**
 * The metadata log `__cluster_metadata-0` (in `metadata.log.dir`, by default the first log
 * dir), as in KRaft: every change to topics and configs is a Raft entry committed by the
 * metadata quorum before it takes effect, and the image is built from committed entries.
 * The Raft log is the partition log itself (FileRaftLog: one batch per entry), the vote is
 * kept in `quorum-state` beside it.
 *
 * This opens the three (partition log, quorum-state store, MetadataQuorum) and starts the
 * quorum. A sole voter (a single node, the default) has replayed its log into the image when
 * `open` returns, so the caller can open the partitions the image names at once.
 */
import { join } from 'node:path';
import type { ClusterTransport, Logger, PeerAddress } from '@sluice/sdk';
import type { Clock } from '../clock.js';
import { MetadataQuorum, type MetadataSnapshotSettings } from '../cluster/metadata-quorum.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { toLogConfig } from '../config/topic-config.js';
import { PartitionLog } from '../log/partition-log.js';
import { FileQuorumStateStore } from '../raft/file-quorum-state-store.js';
import { FileRaftLog } from '../raft/file-raft-log.js';
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from '../raft/raft-config.js';
import type { MetadataImage } from './metadata-image.js';
import type { MetadataRecord } from './records.js';

export const METADATA_TOPIC = '__cluster_metadata';

/** Where this node stands in the metadata quorum (from the `controller.quorum.*` settings). */
export interface MetadataQuorumSettings {
  readonly nodeId: number;
  /** `controller.quorum.voters`; empty: this node is the only voter. */
  readonly voters: readonly PeerAddress[];
  /** `process.roles` has controller: the node runs the Raft core (MetadataQuorumOptions.controller). */
  readonly controller?: boolean;
  /** The first of `controller.listener.names`. */
  readonly listenerName?: string;
  readonly clusterId: string;
  /** Called on every send: the plugin providing `cluster.transport` starts after the kernel. */
  readonly transport: () => ClusterTransport | undefined;
  readonly raft: RaftConfig;
  readonly requestTimeoutMs: number;
  /** When to snapshot the image; default Kafka's (20 MiB of records, 1 h). */
  readonly snapshots?: MetadataSnapshotSettings;
}

export interface MetadataLogOptions {
  /** `metadata.log.dir`: the directory holding `__cluster_metadata-0`. */
  readonly logDir: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly recoveryPoint: number;
  readonly cleanShutdown: boolean;
  /** Omitted: this node alone, as node 0 (the id is only written to `quorum-state`). */
  readonly quorum?: MetadataQuorumSettings;
}

/** The Raft core's timing from the `controller.quorum.*` settings; the rest keeps the core's defaults. */
export function raftConfigOf(config: Pick<BrokerConfig, 'quorumElectionTimeoutMs' | 'quorumFetchTimeoutMs' | 'quorumAppendLingerMs'>): RaftConfig {
  return {
    ...DEFAULT_RAFT_CONFIG, electionTimeoutMs: config.quorumElectionTimeoutMs, fetchTimeoutMs: config.quorumFetchTimeoutMs,
    appendLingerMs: config.quorumAppendLingerMs,
  };
}

const SOLE_VOTER: MetadataQuorumSettings = {
  nodeId: 0, voters: [], clusterId: '', transport: () => undefined, raft: DEFAULT_RAFT_CONFIG, requestTimeoutMs: 2000,
};

export class MetadataLog {
  private constructor(readonly partitionLog: PartitionLog, readonly quorum: MetadataQuorum) {}

  static open(opts: MetadataLogOptions): MetadataLog {
    const dir = join(opts.logDir, `${METADATA_TOPIC}-0`);
    const partitionLog = PartitionLog.open({
      dir, topic: METADATA_TOPIC, partition: 0,
      // Never deleted by retention: only the prefix below a snapshot goes (FileRaftLog).
      // Write caching so that Raft reads up to the log end: Raft flushes and keeps its own
      // high watermark.
      config: toLogConfig({}, { 'retention.ms': '-1', 'segment.bytes': String(16 * 1024 * 1024), 'write.caching': 'true' }),
      clock: opts.clock, log: opts.log, recoveryPoint: opts.recoveryPoint, logStartOffset: 0,
      cleanShutdown: opts.cleanShutdown,
    });
    const settings = opts.quorum ?? SOLE_VOTER;
    const quorum = new MetadataQuorum({
      nodeId: settings.nodeId, voters: settings.voters, clusterId: settings.clusterId,
      ...(settings.controller !== undefined ? { controller: settings.controller } : {}),
      ...(settings.listenerName !== undefined ? { listenerName: settings.listenerName } : {}),
      log: new FileRaftLog(partitionLog, () => opts.clock.nowMs()), store: new FileQuorumStateStore(dir),
      config: settings.raft, transport: settings.transport, requestTimeoutMs: settings.requestTimeoutMs,
      logger: opts.log, ...(settings.snapshots !== undefined ? { snapshots: settings.snapshots } : {}),
    });
    quorum.start();
    return new MetadataLog(partitionLog, quorum);
  }

  get image(): MetadataImage {
    return this.quorum.image;
  }

  /**
   * Commits the records as one entry and applies them. A sole voter may still be electing
   * itself right after open: it waits for that, since nobody else can become controller.
   */
  async commit(records: readonly MetadataRecord[]): Promise<void> {
    if (this.quorum.isSoleVoter() && !this.quorum.isActiveController()) await this.quorum.whenCaughtUp();
    await this.quorum.commit(records);
  }

  async close(): Promise<void> {
    this.quorum.close();
    await this.partitionLog.close();
  }
}
