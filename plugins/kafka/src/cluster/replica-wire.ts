/**
 * Partition replication on the wire: a follower's fetch is Kafka's Fetch v17 with the
 * follower in ReplicaState (replica id and broker epoch), topics by id, one full request per
 * round (no fetch session: sessions save bytes for many idle partitions, at the price of
 * state to keep consistent across leader changes). The leader answers with the batches as
 * stored, its high watermark and log start offset, and a diverging epoch where the
 * follower's log went astray (KIP-320).
 *
 * Received, any Fetch version from 4 carries a replica fetch: the replica id is the
 * replica_id field before v15 and ReplicaState from v15; topics are named up to v12 and given
 * by id from v13, where `topicName` resolves them (an unknown id gets an empty name, which
 * the kernel answers with an error for that partition). Partitions travel grouped by
 * topic, so they arrive in that order: topics in the order first named.
 */
import type { ClusterRpcRequest, ReplicaFetchResponse } from '@sluice/sdk';
import { ApiKey, uuidEquals, ZERO_UUID, type FetchResponse } from '../protocol/index.js';
import type { RpcWire } from './rpc-wire.js';
import { firstError } from './wire-errors.js';
import { fetchReplicaEpoch, fetchReplicaId } from './raft-wire.js';

type FetchPartitionData = FetchResponse['responses'][number]['partitions'][number];
type Wanted = ClusterRpcRequest<'replica.fetch'>['partitions'][number];
const NO_RECORDS = new Uint8Array(0);
/** Fetch v13 is the first to name topics by id (KIP-516). */
const TOPIC_IDS_VERSION = 13;

/** The request's partitions grouped by topic, in first-seen order. */
function byTopic(partitions: readonly Wanted[]): Wanted[][] {
  const groups = new Map<string, Wanted[]>();
  for (const p of partitions) {
    const list = groups.get(p.topic);
    if (list === undefined) groups.set(p.topic, [p]);
    else list.push(p);
  }
  return [...groups.values()];
}

/**
 * The wire for `replica.fetch`. `topicName` resolves a topic id on the receiving broker
 * (v13+); the sender never needs it.
 */
export function replicaFetchWire(topicName: (topicId: Uint8Array) => string | undefined): RpcWire<'replica.fetch', typeof ApiKey.Fetch> {
  return {
    apiKey: ApiKey.Fetch,
    version: 17,
    requestToWire: (r) => ({
      clusterId: null,
      replicaState: { replicaId: r.replicaId, replicaEpoch: r.brokerEpoch },
      maxWaitMs: r.maxWaitMs, minBytes: r.minBytes, maxBytes: r.maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: byTopic(r.partitions).map((ps) => ({
        topic: ps[0]!.topic, topicId: ps[0]!.topicId,
        partitions: ps.map((p) => ({
          partition: p.partition, currentLeaderEpoch: p.currentLeaderEpoch, fetchOffset: p.fetchOffset, lastFetchedEpoch: p.lastFetchedEpoch,
          logStartOffset: p.logStartOffset, partitionMaxBytes: p.partitionMaxBytes, replicaDirectoryId: ZERO_UUID,
        })),
      })),
      forgottenTopicsData: [], rackId: '',
    }),
    responseFromWire: (res, req): ReplicaFetchResponse => ({
      errorCode: res.errorCode,
      partitions: res.responses.flatMap((t) => {
        const topic = req.partitions.find((p) => uuidEquals(p.topicId, t.topicId))?.topic ?? '';
        return t.partitions.map((p) => ({
          topic, partition: p.partitionIndex, errorCode: firstError(res.errorCode, p.errorCode),
          highWatermark: p.highWatermark, logStartOffset: p.logStartOffset,
          divergingEpoch: p.divergingEpoch.epoch === -1 && p.divergingEpoch.endOffset === -1
            ? null : { epoch: p.divergingEpoch.epoch, endOffset: p.divergingEpoch.endOffset },
          records: p.records ?? NO_RECORDS,
        }));
      }),
    }),
    requestFromWire: (req, version) => ({
      replicaId: fetchReplicaId(req, version),
      brokerEpoch: fetchReplicaEpoch(req, version),
      maxWaitMs: req.maxWaitMs, minBytes: req.minBytes, maxBytes: req.maxBytes,
      partitions: req.topics.flatMap((t) => {
        const topic = version >= TOPIC_IDS_VERSION ? topicName(t.topicId) ?? '' : t.topic;
        return t.partitions.map((p) => ({
          topic, topicId: t.topicId, partition: p.partition, currentLeaderEpoch: p.currentLeaderEpoch, fetchOffset: p.fetchOffset,
          lastFetchedEpoch: p.lastFetchedEpoch, logStartOffset: p.logStartOffset, partitionMaxBytes: p.partitionMaxBytes,
        }));
      }),
    }),
    responseToWire: (res, req) => {
      const topics = new Map<string, FetchPartitionData[]>();
      for (const p of res.partitions) {
        const entry: FetchPartitionData = {
          partitionIndex: p.partition, errorCode: p.errorCode, highWatermark: p.highWatermark, lastStableOffset: p.highWatermark,
          logStartOffset: p.logStartOffset,
          divergingEpoch: p.divergingEpoch ?? { epoch: -1, endOffset: -1 },
          abortedTransactions: null, preferredReadReplica: -1, records: p.records,
        };
        const list = topics.get(p.topic);
        if (list === undefined) topics.set(p.topic, [entry]);
        else list.push(entry);
      }
      return {
        throttleTimeMs: 0, errorCode: res.errorCode, sessionId: 0,
        responses: [...topics].map(([topic, partitions]) => ({
          topic, topicId: req.partitions.find((p) => p.topic === topic)?.topicId ?? ZERO_UUID, partitions,
        })),
      };
    },
    errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, sessionId: 0, responses: [] }),
  };
}

/** The sender's side needs no topic names: responses are matched by the ids it sent. */
export const replicaWires = { 'replica.fetch': replicaFetchWire(() => undefined) } as const;
