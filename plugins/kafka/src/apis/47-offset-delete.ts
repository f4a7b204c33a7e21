/**
 * OffsetDelete (key 47), v0: removes committed offsets of a group (tombstones in
 * `__consumer_offsets`). A consumer group still subscribed to a topic keeps that topic's
 * offsets (GROUP_SUBSCRIBED_TO_TOPIC); a non-consumer group with members gets
 * NON_EMPTY_GROUP; partitions of unknown topics UNKNOWN_TOPIC_OR_PARTITION.
 */
import { ApiKey } from '../protocol/index.js';
import { GroupError } from '../groups/errors.js';
import { defineApi } from './api.js';

export const offsetDeleteApi = defineApi({
  apiKey: ApiKey.OffsetDelete,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    const errors = new Map<string, number>();
    const known: Array<{ topic: string; partition: number }> = [];
    for (const t of req.topics) {
      const partitions = ctx.kernel.describeTopic(t.name)?.partitions ?? 0;
      for (const p of t.partitions) {
        if (p.partitionIndex < 0 || p.partitionIndex >= partitions) errors.set(`${p.partitionIndex}:${t.name}`, GroupError.UNKNOWN_TOPIC_OR_PARTITION);
        else known.push({ topic: t.name, partition: p.partitionIndex });
      }
    }
    return ctx.groups.deleteOffsets(req.groupId, known).then((r) => {
      if (r.errorCode !== GroupError.NONE) return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [] };
      known.forEach((p, i) => errors.set(`${p.partition}:${p.topic}`, r.errors[i]!));
      return {
        errorCode: GroupError.NONE,
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${p.partitionIndex}:${t.name}`)! })),
        })),
      };
    });
  },
});
