/**
 * Raft snapshots on disk, beside the log: one file per snapshot named as Kafka names them,
 * `<endOffset %020d>-<epoch %010d>.checkpoint`, holding the snapshot's bytes
 * (snapshot-format.ts: header batch, state batches, footer batch).
 *
 * Writing: `<name>.tmp` is written and fsynced, renamed to its name, and the directory is
 * fsynced, so a name always denotes a whole file; only then may the log prefix below the
 * snapshot be deleted. Older snapshots are deleted once a newer one is durable.
 *
 * Recovery: leftover `.tmp` files are deleted. Every `.checkpoint` file is checked in full
 * (CRC of each batch, header first, footer last); one that fails is a partial snapshot and
 * is ignored (kept for inspection, never served or loaded). The newest complete one wins.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFileSync } from '../log/checkpoint-file.js';
import { decodeSnapshot, SnapshotCorruptError } from './snapshot-format.js';
import type { SnapshotChunk } from './raft-log.js';
import type { OffsetAndEpoch } from './types.js';

const SNAPSHOT_NAME_RE = /^(\d{20})-(\d{10})\.checkpoint$/;
const TMP_SUFFIX = '.tmp';

export function snapshotFileName(id: OffsetAndEpoch): string {
  return `${String(id.offset).padStart(20, '0')}-${String(id.epoch).padStart(10, '0')}.checkpoint`;
}

export class SnapshotFiles {
  private latestId: OffsetAndEpoch | null = null;
  /** Partial snapshots found at open, by file name: ignored. */
  readonly ignored: string[] = [];

  constructor(readonly dir: string) {
    const found: OffsetAndEpoch[] = [];
    for (const name of readdirSync(dir)) {
      if (name.endsWith(`.checkpoint${TMP_SUFFIX}`)) {
        rmSync(join(dir, name), { force: true });
        continue;
      }
      const m = SNAPSHOT_NAME_RE.exec(name);
      if (m !== null) found.push({ offset: Number(m[1]), epoch: Number(m[2]) });
    }
    found.sort((a, b) => b.offset - a.offset || b.epoch - a.epoch);
    for (const id of found) {
      try {
        decodeSnapshot(readFileSync(this.path(id)));
        this.latestId = id;
        break;
      } catch (err) {
        if (!(err instanceof SnapshotCorruptError)) throw err;
        this.ignored.push(snapshotFileName(id));
      }
    }
  }

  latest(): OffsetAndEpoch | null {
    return this.latestId;
  }

  /** Durable on return; older snapshots are deleted after. Bytes that are not a whole snapshot are refused. */
  write(id: OffsetAndEpoch, bytes: Uint8Array): void {
    decodeSnapshot(bytes);
    atomicWriteFileSync(this.path(id), bytes);
    const previous = this.latestId;
    if (previous === null || id.offset >= previous.offset) this.latestId = id;
    for (const name of readdirSync(this.dir)) {
      const m = SNAPSHOT_NAME_RE.exec(name);
      if (m !== null && Number(m[1]) < this.latestId!.offset) rmSync(join(this.dir, name), { force: true });
    }
  }

  read(id: OffsetAndEpoch, position: number, maxBytes: number): SnapshotChunk | undefined {
    if (this.latestId === null || this.latestId.offset !== id.offset || this.latestId.epoch !== id.epoch) return undefined;
    const path = this.path(id);
    const size = statSync(path).size;
    const length = Math.max(0, Math.min(maxBytes, size - position));
    const bytes = Buffer.allocUnsafe(length);
    if (length > 0) {
      const fd = openSync(path, 'r');
      try {
        let done = 0;
        while (done < length) {
          const n = readSync(fd, bytes, done, length - done, position + done);
          if (n === 0) throw new Error(`snapshot ${path} shorter than ${size} bytes`);
          done += n;
        }
      } finally {
        closeSync(fd);
      }
    }
    return { size, bytes };
  }

  private path(id: OffsetAndEpoch): string {
    return join(this.dir, snapshotFileName(id));
  }
}
