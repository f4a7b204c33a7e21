/**
 * The metadata log `__cluster_metadata-0` in the first log directory, as in KRaft: every
 * change to topics and configs is appended here durably before it takes effect, and the
 * image is rebuilt by replaying it at start. On one node the broker is its own
 * controller; the Raft quorum will replicate this same log.
 */
import { join } from 'node:path';
import { asOffset, type Logger } from '@sluice/sdk';
import type { Clock } from '../clock.js';
import { toLogConfig } from '../config/topic-config.js';
import { buildBatch } from '../log/batch-builder.js';
import { PartitionLog } from '../log/partition-log.js';
import * as rb from '../log/record-batch.js';
import { emptyRecordView, readRecord } from '../log/records.js';
import { MetadataImage } from './metadata-image.js';
import { decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from './records.js';

export const METADATA_TOPIC = '__cluster_metadata';
const READ_CHUNK_BYTES = 1024 * 1024;

export interface MetadataLogOptions {
  readonly logDir: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly recoveryPoint: number;
  readonly cleanShutdown: boolean;
}

export class MetadataLog {
  readonly image = new MetadataImage();

  private constructor(readonly partitionLog: PartitionLog, private readonly clock: Clock) {}

  static open(opts: MetadataLogOptions): MetadataLog {
    const partitionLog = PartitionLog.open({
      dir: join(opts.logDir, `${METADATA_TOPIC}-0`), topic: METADATA_TOPIC, partition: 0,
      // Metadata is kept whole: snapshots and cleaning of this log come with the Raft quorum.
      config: toLogConfig({}, { 'retention.ms': '-1', 'segment.bytes': String(16 * 1024 * 1024) }),
      clock: opts.clock, log: opts.log, recoveryPoint: opts.recoveryPoint, logStartOffset: 0,
      cleanShutdown: opts.cleanShutdown,
    });
    const metadata = new MetadataLog(partitionLog, opts.clock);
    metadata.replay();
    return metadata;
  }

  private replay(): void {
    const view = emptyRecordView();
    let offset = this.partitionLog.logStartOffset as number;
    while (offset < this.partitionLog.highWatermark) {
      const { records } = this.partitionLog.read(asOffset(offset), READ_CHUNK_BYTES, 'read_uncommitted');
      const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
      if (buf.length === 0) break;
      for (let pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) {
        const size = rb.batchSize(buf, pos);
        const base = rb.batchBaseOffset(buf, pos);
        let at = pos + rb.BATCH_HEADER_BYTES;
        for (let i = 0; i < rb.batchRecordCount(buf, pos); i++) {
          at = readRecord(buf, at, pos + size, view);
          if (base + view.offsetDelta < offset || view.valueLength < 0) continue;
          const record = decodeMetadataRecord(buf.subarray(view.valueStart, view.valueStart + view.valueLength));
          if (record !== undefined) this.image.apply(record);
        }
        offset = rb.batchLastOffset(buf, pos) + 1;
      }
    }
  }

  /** Appends the records as one batch, waits until it is durable, then applies them. */
  async commit(records: readonly MetadataRecord[]): Promise<void> {
    const batch = buildBatch(records.map((r) => ({ key: null, value: encodeMetadataRecord(r) })),
      { baseTimestampMs: this.clock.nowMs() });
    await this.partitionLog.append(batch, 'durable');
    for (const r of records) this.image.apply(r);
  }

  close(): Promise<void> {
    return this.partitionLog.close();
  }
}
