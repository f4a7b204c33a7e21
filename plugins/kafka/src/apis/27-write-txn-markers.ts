/**
 * WriteTxnMarkers (key 27), v0-1: writes COMMIT or ABORT markers for a producer to the
 * named partitions. Transaction coordinators send it to partition leaders on other nodes
 * (transactions/marker-writer.ts; a coordinator writes its own partitions' in-process), and
 * tools send it to end a hanging transaction the coordinator does not know about
 * (`sluice transactions abort`, Kafka's kafka-transactions.sh). A marker from an older producer or coordinator epoch than the
 * partition has seen is refused (INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED).
 * Without authorization (not built yet) any client may call it.
 */
import type { AppendResult } from '@sluice/sdk';
import { ApiKey } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { OFFSETS_TOPIC } from '../groups/offsets-store.js';
import { defineApi } from './api.js';

export const writeTxnMarkersApi = defineApi({
  apiKey: ApiKey.WriteTxnMarkers,
  name: 'WriteTxnMarkers',
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    // Every marker is started before the first await, so they land in request order.
    const markers = req.markers.map((m) => ({
      producerId: m.producerId,
      topics: m.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((index) => {
          const handle = ctx.kernel.partition(t.name, index);
          if (handle === undefined) return { partitionIndex: index, result: Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) };
          let written: Promise<AppendResult>;
          try {
            written = handle.writeTxnMarker(m.producerId, m.producerEpoch, m.coordinatorEpoch, m.transactionResult);
          } catch (err) {
            return { partitionIndex: index, result: Promise.resolve(errorCodeOf(err)) };
          }
          return {
            partitionIndex: index,
            result: written.then(() => {
              if (t.name === OFFSETS_TOPIC) ctx.groups.completeTransaction(index, m.producerId, m.transactionResult);
              return 0;
            }, errorCodeOf),
          };
        }),
      })),
    }));
    return {
      markers: await Promise.all(markers.map(async (m) => ({
        producerId: m.producerId,
        topics: await Promise.all(m.topics.map(async (t) => ({
          name: t.name,
          partitions: await Promise.all(t.partitions.map(async (p) => ({ partitionIndex: p.partitionIndex, errorCode: await p.result }))),
        }))),
      }))),
    };
  },
});
