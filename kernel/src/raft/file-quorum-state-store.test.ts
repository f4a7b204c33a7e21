import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/fixtures.js';
import { FileQuorumStateStore, QUORUM_STATE_FILE } from './file-quorum-state-store.js';

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function newDir(): string {
  const d = tempDir('sluice-quorum-state-');
  dirs.push(d);
  return d.path;
}

describe('FileQuorumStateStore', () => {
  it('reads nothing on a fresh node, then what was written, also after reopen', () => {
    const dir = newDir();
    const store = new FileQuorumStateStore(dir);
    expect(store.read()).toBeNull();
    store.write({ epoch: 3, votedFor: 2, leaderId: 2 });
    expect(store.read()).toEqual({ epoch: 3, votedFor: 2, leaderId: 2 });
    expect(new FileQuorumStateStore(dir).read()).toEqual({ epoch: 3, votedFor: 2, leaderId: 2 });
    expect(JSON.parse(readFileSync(join(dir, QUORUM_STATE_FILE), 'utf8'))).toEqual({ version: 1, epoch: 3, votedFor: 2, leaderId: 2 });
  });

  it('reads a file written without a leader as knowing none', () => {
    const dir = newDir();
    writeFileSync(join(dir, QUORUM_STATE_FILE), JSON.stringify({ version: 1, epoch: 4, votedFor: 1 }));
    expect(new FileQuorumStateStore(dir).read()).toEqual({ epoch: 4, votedFor: 1, leaderId: null });
  });

  it('refuses to go back in epoch', () => {
    const store = new FileQuorumStateStore(newDir());
    store.write({ epoch: 5, votedFor: 1, leaderId: null });
    expect(() => store.write({ epoch: 4, votedFor: null, leaderId: null })).toThrow(/go back/);
    expect(store.read()).toEqual({ epoch: 5, votedFor: 1, leaderId: null });
  });

  it('ignores a torn temp file left by a crash during a write', () => {
    const dir = newDir();
    new FileQuorumStateStore(dir).write({ epoch: 7, votedFor: 3, leaderId: null });
    writeFileSync(join(dir, `${QUORUM_STATE_FILE}.tmp`), '{"version":1,"epo');
    const reopened = new FileQuorumStateStore(dir);
    expect(reopened.read()).toEqual({ epoch: 7, votedFor: 3, leaderId: null });
    reopened.write({ epoch: 8, votedFor: null, leaderId: 2 });
    expect(new FileQuorumStateStore(dir).read()).toEqual({ epoch: 8, votedFor: null, leaderId: 2 });
  });

  it('refuses to start from a damaged state file rather than forget a vote', () => {
    const dir = newDir();
    writeFileSync(join(dir, QUORUM_STATE_FILE), '{"version":1,"epoch":');
    expect(() => new FileQuorumStateStore(dir)).toThrow(/not valid JSON/);
  });
});
