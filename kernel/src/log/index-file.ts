/** File operations shared by the offset and time indexes: append-only, cut on recovery. */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';

export function writeFully(fd: number, data: Uint8Array, position?: number): void {
  let written = 0;
  while (written < data.length) {
    written += writeSync(fd, data, written, data.length - written, position === undefined ? null : position + written);
  }
}

/** Appends `data` to the index file, and fsyncs it when the segment is being sealed. */
export function appendToIndexFile(path: string, data: Uint8Array, fsync: boolean): void {
  const fd = openSync(path, 'a');
  try {
    if (data.length > 0) writeFully(fd, data);
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function truncateIndexFile(path: string, sizeBytes: number): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, sizeBytes);
  } finally {
    closeSync(fd);
  }
}
