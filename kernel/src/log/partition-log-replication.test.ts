import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asOffset, KafkaError } from '@sluice/sdk';
import { ManualClock } from '../clock.js';
import { buildBatch } from './batch-builder.js';
import { PartitionLog, type LeaderReplication, type PartitionLogOptions } from './partition-log.js';
import * as rb from './record-batch.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';

const dirs: Array<{ cleanup(): void }> = [];
const logs: PartitionLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

function open(overrides: Partial<PartitionLogOptions> = {}, config: Record<string, string> = {}): PartitionLog {
  const d = tempDir();
  dirs.push(d);
  const log = PartitionLog.open({
    dir: d.path, topic: 't', partition: 0, config: logConfig(config), clock: new ManualClock(), log: captureLogger(),
    recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false, ...overrides,
  });
  logs.push(log);
  return log;
}

function batch(values: string[], fields: Parameters<typeof buildBatch>[1] = {}): Buffer {
  return buildBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestampMs: 1000 })), fields);
}

async function codeOf(action: () => unknown): Promise<number | undefined> {
  try {
    await action();
    return undefined;
  } catch (err) {
    return KafkaError.is(err) ? err.code : -999;
  }
}

describe('PartitionLog replication roles', () => {
  it('as a follower refuses producers and consumers, keeps the leader\'s offsets and epochs, and serves replicas past the high watermark', async () => {
    const leader = open();
    leader.becomeLeader(3, undefined);
    await leader.append(batch(['a', 'b']), 'durable');
    await leader.append(batch(['c']), 'durable');
    const follower = open();
    follower.becomeFollower(3);
    expect(await codeOf(() => follower.append(batch(['x']), 'leader'))).toBe(6);
    expect(await codeOf(() => follower.read(asOffset(0), 1000, 'read_uncommitted'))).toBe(6);
    expect(await codeOf(() => follower.writeTxnMarker(1, 0, 0, true))).toBe(6);

    const fetched = leader.readForReplica(0, 1 << 20);
    follower.appendAsFollower(fetched);
    expect(follower.logEndOffset).toBe(3);
    expect(follower.highWatermark).toBe(0);
    expect(follower.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 3 });
    expect(rb.batchLeaderEpoch(follower.readForReplica(2, 1000), 0)).toBe(3);
    expect(follower.readForReplica(0, 1 << 20).equals(fetched)).toBe(true);

    follower.setHighWatermark(2);
    follower.setHighWatermark(1);
    expect(follower.highWatermark).toBe(2);
    expect(() => follower.setHighWatermark(4)).toThrow(/beyond log end/);
  });

  it('refuses a follower batch that does not continue the log or fails its CRC', () => {
    const log = open();
    log.becomeFollower(1);
    const b = batch(['a'], { baseOffset: 5, partitionLeaderEpoch: 1 });
    log.appendAsFollower(b);
    expect(log.logEndOffset).toBe(6);
    expect(() => log.appendAsFollower(batch(['b'], { baseOffset: 3, partitionLeaderEpoch: 1 }))).toThrow(/does not continue/);
    const corrupt = batch(['c'], { baseOffset: 6, partitionLeaderEpoch: 1 });
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
    expect(() => log.appendAsFollower(corrupt)).toThrow(/invalid record batch/);
    expect(log.logEndOffset).toBe(6);
  });

  it('opened as replicated, refuses producers until replication makes it leader', async () => {
    const log = open({ replicated: true });
    expect(await codeOf(() => log.append(batch(['a']), 'leader'))).toBe(6);
    log.becomeLeader(0, undefined);
    expect((await log.append(batch(['a']), 'durable')).baseOffset).toBe(0);
  });

  it('truncation forgets producer state past the cut, so the new leader\'s copy of a sequence is accepted', () => {
    const log = open();
    log.becomeFollower(1);
    log.appendAsFollower(batch(['a'], { baseOffset: 0, partitionLeaderEpoch: 1, producerId: 9, producerEpoch: 0, baseSequence: 0 }));
    log.appendAsFollower(batch(['b'], { baseOffset: 1, partitionLeaderEpoch: 1, producerId: 9, producerEpoch: 0, baseSequence: 1 }));
    log.truncateTo(1);
    expect(log.producers()[0]!.lastSequence).toBe(0);
    log.becomeLeader(2, undefined);
    const again = log.appendNow(batch(['b2'], { producerId: 9, producerEpoch: 0, baseSequence: 1 }));
    expect(again).toMatchObject({ baseOffset: 1, duplicate: false });
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 1 });
  });

  it('hands acks=all and the high watermark to replication on a replicated leader', async () => {
    const log = open();
    const calls: string[] = [];
    let release: () => void = () => {};
    const replication: LeaderReplication = {
      checkDurableAppend: () => calls.push('check'),
      awaitReplicated: (end) => {
        calls.push(`await ${end}`);
        return new Promise((resolve) => {
          release = resolve;
        });
      },
      logAdvanced: () => calls.push('advanced'),
    };
    log.becomeLeader(1, replication);
    const pending = log.append(batch(['a', 'b']), 'durable');
    await log.waitFlushed(2);
    // Flushed, yet not readable: the high watermark is replication's to move.
    expect(log.highWatermark).toBe(0);
    expect(calls.slice(0, 3)).toEqual(['check', 'advanced', 'await 2']);
    release();
    expect((await pending).lastOffset).toBe(1);
    log.setHighWatermark(2);
    expect(log.read(asOffset(0), 1000, 'read_uncommitted').records.length).toBeGreaterThan(0);
  });
});

describe('leader epochs on disk', () => {
  const epochsOnDisk = (dir: string): string => readFileSync(join(dir, 'leader-epoch-checkpoint'), 'utf8').trim().split('\n').slice(2).join(',');

  it('writes a new epoch before its first batch is flushed, not when it begins', async () => {
    const log = open();
    const dir = log.dir;
    log.becomeLeader(1, undefined);
    await log.append(batch(['a']), 'durable');
    expect(epochsOnDisk(dir)).toBe('1 0');
    // An epoch with nothing flushed in it need not survive a crash: not written yet.
    log.becomeLeader(2, undefined);
    log.becomeLeader(3, undefined);
    expect(epochsOnDisk(dir)).toBe('1 0');
    await log.append(batch(['b']), 'durable');
    expect(epochsOnDisk(dir)).toBe('1 0,3 1');
    // Closing leaves out an epoch with no data: loading would drop it anyway.
    log.becomeLeader(4, undefined);
    await log.close();
    logs.splice(logs.indexOf(log), 1);
    expect(epochsOnDisk(dir)).toBe('1 0,3 1');
  });

  it('writes the epochs recovery found before the recovered data counts as flushed', async () => {
    const first = open();
    const dir = first.dir;
    first.becomeFollower(5);
    first.appendAsFollower(batch(['a', 'b'], { partitionLeaderEpoch: 5 }));
    // A crash before the follower flushed: the checkpoint never had epoch 5.
    expect(existsSync(join(dir, 'leader-epoch-checkpoint'))).toBe(false);
    const reopened = PartitionLog.open({
      dir, topic: 't', partition: 0, config: logConfig({}), clock: new ManualClock(), log: captureLogger(),
      recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false,
    });
    logs.push(reopened);
    expect(epochsOnDisk(dir)).toBe('5 0');
  });
});
