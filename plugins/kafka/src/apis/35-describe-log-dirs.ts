/**
 * DescribeLogDirs (key 35), v0-4.
 *
 * Every log dir of this node with the partitions it holds: all of them for a null topic
 * list, else those named (partitions that do not exist are left out, as Kafka does). Per
 * partition the bytes on disk and the offset lag (log end offset minus high watermark:
 * appends not yet durable); there are no future logs (AlterReplicaLogDirs is not served).
 * v3+ carry a top-level error code (always 0), v4+ the volume's total and usable bytes.
 */
import { resolve } from 'node:path';
import { ApiKey } from '../protocol/index.js';
import { defineApi } from './api.js';

export const describeLogDirsApi = defineApi({
  apiKey: ApiKey.DescribeLogDirs,
  name: 'DescribeLogDirs',
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const wanted = req.topics === null ? undefined : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)]));
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      results: ctx.kernel.logDirs().map((dir) => {
        const byTopic = new Map<string, Array<{ partitionIndex: number; partitionSize: number; offsetLag: number; isFutureKey: boolean }>>();
        for (const p of dir.partitions) {
          if (wanted !== undefined && wanted.get(p.topic)?.has(p.partition) !== true) continue;
          const list = byTopic.get(p.topic) ?? [];
          list.push({ partitionIndex: p.partition, partitionSize: p.sizeBytes, offsetLag: p.offsetLag, isFutureKey: false });
          byTopic.set(p.topic, list);
        }
        return {
          errorCode: 0,
          logDir: resolve(dir.path),
          topics: [...byTopic.entries()].map(([name, partitions]) => ({ name, partitions })),
          totalBytes: dir.totalBytes,
          usableBytes: dir.usableBytes,
        };
      }),
    };
  },
});
