/**
 * `sluice groups` as an operator runs it: the built CLI as child processes against a real
 * broker process, on a group whose offsets a librdkafka consumer (clients/group_consumer.py)
 * committed. Every wait is for an event (a consumed record, a process exit), bounded so
 * that a broken broker fails instead of hanging.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { runSluice, type CliRun } from './sluice-cli.js';
import { PYTHON } from './clients.js';

const GROUP_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'clients', 'group_consumer.py');
const WAIT_MS = 45_000;
const TOPIC = 'orders';
const GROUP = 'billing';

let broker: BrokerProcess;

/** Runs `sluice <args>` against the broker, with `input` on stdin. */
function sluice(args: readonly string[], input = ''): Promise<CliRun> {
  return runSluice(broker.bootstrap, args, input);
}

async function ok(args: readonly string[], input?: string): Promise<CliRun> {
  const run = await sluice(args, input);
  expect(run.code, run.stderr).toBe(0);
  return run;
}

async function produce(partition: number, count: number, prefix: string): Promise<void> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${partition}-${i}\n`).join('');
  await ok(['produce', TOPIC, '--partition', String(partition)], values);
}

/** A table's rows as arrays of cells, the header row left out. */
function rows(table: string): string[][] {
  return table.split('\n').slice(1).filter((l) => l !== '').map((l) => l.trim().split(/\s{2,}/));
}

interface Described {
  readonly header: string;
  readonly members: string[][];
  /** Per `partition`: [committed, log end, lag, member id]. */
  readonly offsets: Map<number, string[]>;
  readonly totalLag: string;
}

async function describeGroup(): Promise<Described> {
  const { stdout } = await ok(['groups', 'describe', GROUP]);
  const sections = stdout.split('\n\n');
  const header = sections[0]!;
  const members = sections.find((s) => s.startsWith('MEMBER-ID'));
  const offsets = sections.find((s) => s.startsWith('TOPIC'));
  const total = /^Total lag: (\d+)$/m.exec(stdout);
  expect(total, stdout).not.toBeNull();
  return {
    header,
    members: members === undefined ? [] : rows(members),
    offsets: new Map(rows(offsets ?? '').map((r) => {
      expect(r[0]).toBe(TOPIC);
      return [Number(r[1]), r.slice(2)];
    })),
    totalLag: total![1]!,
  };
}

function committed(d: Described): number[] {
  return [0, 1, 2].map((p) => Number(d.offsets.get(p)?.[0]));
}

/** One group_consumer.py process: counts the records it consumed; exits on close. */
class Consumer {
  consumed = 0;
  exited = false;
  private stderr = '';
  private readonly listeners = new Set<() => void>();

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.trim() !== '' && (JSON.parse(line) as { event: string }).event === 'record') this.consumed++;
      }
      this.notify();
    });
    child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString('utf8')).slice(-20_000)));
    child.once('exit', () => {
      this.exited = true;
      this.notify();
    });
  }

  static start(): Consumer {
    const child = spawn(PYTHON, [GROUP_SCRIPT, broker.bootstrap], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.write(JSON.stringify({
      topic: TOPIC, group: GROUP, config: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 250, 'fetch.wait.max.ms': 50 },
    }) + '\n');
    return new Consumer(child);
  }

  until(ready: () => boolean, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!ready()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}:\n${this.stderr}`));
      }, WAIT_MS);
      this.listeners.add(check);
    });
  }

  /** As an application closes it: librdkafka commits what was consumed, leaves the group, the script exits. */
  async close(): Promise<void> {
    if (!this.exited) this.child.stdin.end('close\n');
    await this.until(() => this.exited, 'the consumer to close');
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

const consumers: Consumer[] = [];

beforeAll(async () => {
  broker = await startBroker({
    overrides: { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '1000', 'offsets.topic.num.partitions': '3' },
  });
  await ok(['topics', 'create', TOPIC, '--partitions', '3']);
  await Promise.all([0, 1, 2].map((p) => produce(p, 10, 'first')));
});

afterEach(() => {
  for (const c of consumers.splice(0)) c.kill();
});

afterAll(async () => {
  const code = await broker?.stop();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
  expect(code).toBe(0);
  broker?.removeDataDir();
});

describe('sluice groups', () => {
  it('describes a live group, refuses to reset or delete it, then shows lag once it has committed and left', async () => {
    const consumer = Consumer.start();
    consumers.push(consumer);
    await consumer.until(() => consumer.consumed >= 30, 'the consumer to read the 30 records');

    const live = await describeGroup();
    expect(live.header).toMatch(/^Group: billing\tState: Stable\tProtocol: consumer\/\S+\tMembers: 1$/);
    expect(live.members).toHaveLength(1);
    const [memberId, instanceId, clientId, host, assignment] = live.members[0]!;
    expect([instanceId, clientId, host, assignment]).toEqual(['-', 'rdkafka', '/127.0.0.1', 'orders:0,1,2']);
    for (const p of [0, 1, 2]) expect(live.offsets.get(p)?.[3]).toBe(memberId);

    const refused = await sluice(['groups', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest', '--execute']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error: cannot reset the offsets of group billing: it has active members (state Stable); ' +
      'offsets can only be reset while the group is Empty\n');
    const notDeleted = await sluice(['groups', 'delete', GROUP]);
    expect(notDeleted.code).toBe(1);
    expect(notDeleted.stderr).toBe('error: cannot delete group billing: NON_EMPTY_GROUP\n');

    await consumer.close();
    await Promise.all([produce(0, 4, 'second'), produce(1, 2, 'second')]);
    const left = await describeGroup();
    expect(left.header).toBe('Group: billing\tState: Empty\tProtocol: consumer\tMembers: 0');
    expect(left.members).toEqual([]);
    expect(Object.fromEntries(left.offsets)).toEqual({
      0: ['10', '14', '4', '-'], 1: ['10', '12', '2', '-'], 2: ['10', '10', '0', '-'],
    });
    expect(left.totalLag).toBe('6');

    const listed = rows((await ok(['groups', 'list'])).stdout);
    expect(listed).toContainEqual([GROUP, 'Empty', 'classic', 'consumer']);
  }, 2 * WAIT_MS);

  it('resets offsets: a dry run by default, then to earliest, to a time, by a shift', async () => {
    const dry = await ok(['groups', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest']);
    expect(dry.stdout.split('\n')[0]).toMatch(/^GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+NEW-OFFSET$/);
    expect(rows(dry.stdout)).toEqual([0, 1, 2].map((p) => [GROUP, TOPIC, String(p), '10', '0']));
    expect(dry.stderr).toBe('Dry run: no offsets were changed; --execute commits them.\n');
    expect(committed(await describeGroup())).toEqual([10, 10, 10]);

    const executed = await ok(['groups', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest', '--execute']);
    expect(rows(executed.stdout)).toEqual(rows(dry.stdout));
    expect(executed.stderr).toBe('Committed the new offsets of 3 partitions for group billing.\n');
    const earliest = await describeGroup();
    expect(Object.fromEntries(earliest.offsets)).toEqual({
      0: ['0', '14', '14', '-'], 1: ['0', '12', '12', '-'], 2: ['0', '10', '10', '-'],
    });
    expect(earliest.totalLag).toBe('36');

    // Every record so far was written before `since`; the third batch, from a process
    // started after it, is stamped at or after it.
    const since = new Date(Date.now() + 1);
    await produce(2, 5, 'third');
    await ok(['groups', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-datetime', since.toISOString(), '--execute']);
    // No record at or after the time in partitions 0 and 1: their log end, as Kafka's tool does.
    expect(committed(await describeGroup())).toEqual([14, 12, 10]);

    const shifted = await ok(['groups', 'reset-offsets', GROUP, '--topic', `${TOPIC}:0,2`, '--shift-by', '-3', '--execute']);
    expect(rows(shifted.stdout)).toEqual([[GROUP, TOPIC, '0', '14', '11'], [GROUP, TOPIC, '2', '10', '7']]);
    const after = await describeGroup();
    expect(Object.fromEntries(after.offsets)).toEqual({
      0: ['11', '14', '3', '-'], 1: ['12', '12', '0', '-'], 2: ['7', '15', '8', '-'],
    });
    expect(after.totalLag).toBe('11');

    const clamped = await ok(['groups', 'reset-offsets', GROUP, '--topic', `${TOPIC}:1`, '--to-offset', '1000']);
    expect(rows(clamped.stdout)).toEqual([[GROUP, TOPIC, '1', '12', '12']]);
  }, 2 * WAIT_MS);

  it('deletes an empty group and names the Kafka error for one that does not exist', async () => {
    expect((await ok(['groups', 'delete', GROUP])).stdout).toBe('Deleted group billing.\n');
    expect(rows((await ok(['groups', 'list'])).stdout).map((r) => r[0])).not.toContain(GROUP);

    const described = await sluice(['groups', 'describe', GROUP]);
    expect(described.code).toBe(1);
    expect(described.stderr).toBe('error: group billing: GROUP_ID_NOT_FOUND\n');
    const again = await sluice(['groups', 'delete', GROUP]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: cannot delete group billing: GROUP_ID_NOT_FOUND\n');
  });

  it('rejects bad usage with exit code 2 and the usage', async () => {
    const noMethod = await sluice(['groups', 'reset-offsets', GROUP, '--topic', TOPIC]);
    expect(noMethod.code).toBe(2);
    expect(noMethod.stderr).toMatch(/^error: reset-offsets needs exactly one of --to-earliest, .*\n\nUsage: sluice groups/);
    const badTime = await sluice(['groups', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-datetime', 'yesterday']);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/^error: --to-datetime expects an ISO 8601 time/);
  });
});
