/**
 * The `quorum-state` file beside the Raft log, as KRaft's: the epoch and the vote a voter
 * must not forget across a crash, plus the leader it knew (where a restart resumes following).
 *
 * Layout: one JSON object, `{"version":1,"epoch":<n>,"votedFor":<id|null>,"leaderId":<id|null>}`.
 *
 * Writes: the new content goes to `quorum-state.tmp`, is fsynced, renamed over
 * `quorum-state`, and the directory is fsynced, so the file is always a complete old or new
 * state. Recovery: a leftover temp file is a write that never happened (the rename is the
 * commit point) and is ignored; a `quorum-state` that does not parse is refused, since
 * starting from nothing could cast a second vote in an epoch.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirSync } from '../log/checkpoint-file.js';
import type { ElectionState, QuorumStateStore } from './quorum-state-store.js';
import type { NodeId } from './types.js';

export const QUORUM_STATE_FILE = 'quorum-state';
const FORMAT_VERSION = 1;

export class FileQuorumStateStore implements QuorumStateStore {
  private readonly path: string;
  private current: ElectionState | null;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, QUORUM_STATE_FILE);
    this.current = readState(this.path);
  }

  read(): ElectionState | null {
    return this.current;
  }

  write(state: ElectionState): void {
    if (this.current !== null && state.epoch < this.current.epoch) {
      throw new Error(`quorum state epoch would go back from ${this.current.epoch} to ${state.epoch}`);
    }
    this.persist({ epoch: state.epoch, votedFor: state.votedFor, leaderId: state.leaderId });
  }

  private persist(state: ElectionState): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify({ version: FORMAT_VERSION, ...state }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    fsyncDirSync(this.dir);
    this.current = state;
  }
}

function readState(path: string): ElectionState | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON; refusing to start without the recorded vote`);
  }
  const o = parsed as Record<string, unknown>;
  const isId = (v: unknown): v is NodeId | null => v === null || (Number.isSafeInteger(v) && (v as number) >= 0);
  if (o.version !== FORMAT_VERSION || !Number.isSafeInteger(o.epoch) || (o.epoch as number) < 0 || !isId(o.votedFor) || !isId(o.leaderId ?? null)) {
    throw new Error(`${path} does not hold a quorum state: ${text}`);
  }
  return { epoch: o.epoch as number, votedFor: o.votedFor, leaderId: (o.leaderId ?? null) as NodeId | null };
}
