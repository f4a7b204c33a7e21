/**
 * TxnOffsetCommit (key 28), v0-3: a transactional producer commits a group's offsets as
 * part of its transaction (send_offsets_to_transaction). Needs AddOffsetsToTxn first
 * (INVALID_TXN_STATE otherwise) and the producer's current epoch. The offsets are written
 * to __consumer_offsets inside the transaction and become visible to OffsetFetch only when
 * its COMMIT marker is written; an abort drops them. The member and generation fields are
 * not checked against the group (Kafka checks them when given, KIP-447): a zombie is
 * fenced by its producer epoch instead. v4 (transaction version 2) is not served.
 */
import { ApiKey } from '../protocol/index.js';
import { OFFSETS_TOPIC } from '../groups/offsets-store.js';
import { defineApi } from './api.js';

export const txnOffsetCommitApi = defineApi({
  apiKey: ApiKey.TxnOffsetCommit,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const respond = (codes: readonly number[]) => {
      let i = 0;
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes[i++] ?? 0 })) })),
      };
    };
    const count = req.topics.reduce((n, t) => n + t.partitions.length, 0);
    const refused = ctx.transactions.checkProduce(req.transactionalId, req.producerId, req.producerEpoch, OFFSETS_TOPIC,
      ctx.groups.partitionFor(req.groupId));
    if (refused !== 0) return respond(new Array<number>(count).fill(refused));
    const partitions = req.topics.flatMap((t) => t.partitions.map((p) => ({
      topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1,
      metadata: p.committedMetadata, commitTimestampMs: -1,
    })));
    return respond(await ctx.groups.commitTransactionalOffsets(req.groupId, { producerId: req.producerId, producerEpoch: req.producerEpoch }, partitions));
  },
});
