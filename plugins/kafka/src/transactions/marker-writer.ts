/**
 * Where the transaction coordinator's COMMIT / ABORT markers go: to each partition's leader,
 * as Kafka's TransactionMarkerChannelManager sends them. A partition this node leads gets
 * its marker in-process; one led by another node gets it in a WriteTxnMarkers request (v1)
 * sent to that node's PLAINTEXT listener, over one lazily opened connection per node.
 * Errors come back as KafkaErrors carrying the leader's code, so the coordinator's retry
 * rules are the same for both.
 */
import { KafkaError, type Kernel, type Logger } from '@sluice/sdk';
import { ApiKey } from '../protocol/index.js';
import { PeerChannel, type PeerChannelLimits } from '../cluster/peer-channel.js';

/** What one marker write came to. */
export type MarkerOutcome = 'written' | 'partition-gone';

export interface MarkerWriter {
  /** Resolves once the marker is durable on the partition's leader; rejects with a KafkaError (retriable or not). */
  write(topic: string, partition: number, producerId: number, producerEpoch: number, coordinatorEpoch: number, commit: boolean): Promise<MarkerOutcome>;
  close(): void;
}

const WRITE_TXN_MARKERS_VERSION = 1;
/** How long one WriteTxnMarkers request to a leader may take before it is retried. */
const MARKER_REQUEST_TIMEOUT_MS = 30_000;
const MARKER_CHANNEL_LIMITS: PeerChannelLimits = {
  connectTimeoutMsMax: 5_000,
  reconnectBackoffMsMin: 50,
  reconnectBackoffMsMax: 1_000,
  inFlightRequestsMax: 16,
  responseBytesMax: 1024 * 1024,
  lateAnswerMsMax: 5_000,
};

/** Kafka's name for the codes a leader answers WriteTxnMarkers with, for the coordinator's checks. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  3: 'UNKNOWN_TOPIC_OR_PARTITION', 6: 'NOT_LEADER_OR_FOLLOWER', 7: 'REQUEST_TIMED_OUT', 19: 'NOT_ENOUGH_REPLICAS',
  20: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 47: 'INVALID_PRODUCER_EPOCH', 52: 'TRANSACTION_COORDINATOR_FENCED', 56: 'KAFKA_STORAGE_ERROR',
};

function leaderError(code: number, topic: string, partition: number, leader: number): KafkaError {
  return new KafkaError(code, CODE_NAMES[code] ?? 'UNKNOWN_SERVER_ERROR', `marker for ${topic}-${partition} refused by broker ${leader} (${code})`);
}

export class ClusterMarkerWriter implements MarkerWriter {
  private readonly channels = new Map<string, PeerChannel>();
  private closed = false;

  constructor(
    private readonly kernel: Kernel,
    private readonly log: Logger,
    private readonly limits: PeerChannelLimits = MARKER_CHANNEL_LIMITS,
  ) {}

  async write(topic: string, partition: number, producerId: number, producerEpoch: number, coordinatorEpoch: number,
    commit: boolean): Promise<MarkerOutcome> {
    const described = this.kernel.topicPartitions(topic).find((p) => p.partition === partition);
    if (described === undefined) return 'partition-gone';
    const leader = described.leader;
    if (leader < 0) throw new KafkaError(6, 'NOT_LEADER_OR_FOLLOWER', `${topic}-${partition} has no leader`);
    if (leader === this.kernel.nodeId) {
      const handle = this.kernel.partition(topic, partition);
      if (handle === undefined) throw new KafkaError(6, 'NOT_LEADER_OR_FOLLOWER', `${topic}-${partition} is not open here yet`);
      await handle.writeTxnMarker(producerId, producerEpoch, coordinatorEpoch, commit);
      return 'written';
    }
    const listener = this.kernel.brokers().find((b) => b.nodeId === leader && !b.fenced)?.listeners.find((l) => l.securityProtocol === 'PLAINTEXT');
    if (listener === undefined) throw new KafkaError(6, 'NOT_LEADER_OR_FOLLOWER', `broker ${leader} has no reachable listener`);
    const response = await this.channel(listener.host, listener.port).send(ApiKey.WriteTxnMarkers, WRITE_TXN_MARKERS_VERSION, {
      markers: [{ producerId, producerEpoch, transactionResult: commit, coordinatorEpoch, topics: [{ name: topic, partitionIndexes: [partition] }] }],
    }, MARKER_REQUEST_TIMEOUT_MS).catch((err: unknown) => {
      throw new KafkaError(7, 'REQUEST_TIMED_OUT', `marker for ${topic}-${partition} not answered by broker ${leader}: ${String(err)}`);
    });
    const code = response.markers[0]?.topics[0]?.partitions[0]?.errorCode;
    if (code === undefined) throw leaderError(-1, topic, partition, leader);
    if (code !== 0) throw leaderError(code, topic, partition, leader);
    return 'written';
  }

  close(): void {
    this.closed = true;
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }

  private channel(host: string, port: number): PeerChannel {
    if (this.closed) throw new KafkaError(15, 'COORDINATOR_NOT_AVAILABLE', 'the transaction coordinator is stopping');
    const key = `${host}:${port}`;
    let channel = this.channels.get(key);
    if (channel === undefined) {
      channel = new PeerChannel(host, port, this.limits, this.log);
      this.channels.set(key, channel);
    }
    return channel;
  }
}
