/**
 * DeleteRecords (key 21), v0-2.
 *
 * Moves each partition's log start offset up to `offset` (-1: the high watermark) and
 * answers the new low watermark; whole segments below it are deleted. An offset beyond
 * the high watermark, or negative other than -1, gets OFFSET_OUT_OF_RANGE; one below the
 * log start changes nothing. A topic whose cleanup.policy lacks `delete` gets
 * POLICY_VIOLATION, as Kafka refuses to delete from compacted-only logs. The move is
 * durable (checkpointed) when answered, so `timeout_ms` never runs out.
 * A partition of the cluster that this node does not lead gets NOT_LEADER_OR_FOLLOWER.
 */
import { asOffset } from '@sluice/sdk';
import { ApiKey } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { missingPartitionError } from '../cluster/broker-endpoints.js';
import { defineApi } from './api.js';

const HIGH_WATERMARK = -1;

export const deleteRecordsApi = defineApi({
  apiKey: ApiKey.DeleteRecords,
  name: 'DeleteRecords',
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const topics = await Promise.all(req.topics.map(async (t) => {
      const policy = ctx.kernel.describeTopicConfigs(t.name)?.find((e) => e.name === 'cleanup.policy')?.value ?? '';
      const deletable = policy.split(',').map((s) => s.trim()).includes('delete');
      return {
        name: t.name,
        partitions: await Promise.all(t.partitions.map(async (p) => {
          const fail = (errorCode: number) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode });
          const partition = ctx.kernel.partition(t.name, p.partitionIndex);
          if (partition === undefined) return fail(missingPartitionError(ctx, t.name, p.partitionIndex));
          if (!deletable) return fail(ErrorCode.POLICY_VIOLATION);
          if (p.offset < HIGH_WATERMARK) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
          try {
            const target = p.offset === HIGH_WATERMARK ? partition.highWatermark : asOffset(p.offset);
            return { partitionIndex: p.partitionIndex, lowWatermark: await partition.deleteRecordsBefore(target), errorCode: 0 };
          } catch (err) {
            return fail(errorCodeOf(err));
          }
        })),
      };
    }));
    return { throttleTimeMs: 0, topics };
  },
});
