/**
 * Transactions with confluent_kafka (librdkafka) against real broker processes: a committed
 * and an aborted transaction seen by read_committed and read_uncommitted consumers; a
 * second producer with the same transactional.id fencing the first; a broker SIGKILLed
 * with a transaction open and one just committed, then restarted; a consume-transform-
 * produce loop with send_offsets_to_transaction SIGKILLed twice and restarted, whose
 * output holds each input exactly once.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python, PYTHON } from './clients.js';

let broker: BrokerProcess;
const overrides = {
  'num.partitions': '2',
  'transaction.state.log.num.partitions': '4',
  'offsets.topic.num.partitions': '4',
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
};

beforeAll(async () => {
  broker = await startBroker({ overrides });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

interface Values { values: string[] }

function consume(topic: string, isolation: 'read_committed' | 'read_uncommitted', partitions = [0, 1]): Promise<Values> {
  return python<Values>('transactions.py', 'consume', broker.bootstrap, { topic, partitions, isolation, timeout_s: 30, idle_s: 3 });
}

/** Starts the transform loop; resolves once it reported `commits` committed transactions, then SIGKILLs it. */
function transformUntilKilled(args: object, commits: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(import.meta.dirname, 'clients/transactions.py'), 'transform', broker.bootstrap], { stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin.end(JSON.stringify(args));
    let seen = 0;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      seen = (stderr.match(/^committed /gm) ?? []).length;
      if (seen >= commits) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`transform exited with ${code} before being killed:\n${stderr.slice(-3000)}`));
    });
  });
}

describe.sequential('transactions with confluent_kafka', () => {
  it('read_committed sees the committed transaction only, read_uncommitted both', async () => {
    const r = await python<{ outcomes: string[] }>('transactions.py', 'transactions', broker.bootstrap, {
      topic: 'tx-basic', transactional_id: 'tx-basic-1',
      transactions: [
        { records: [[0, 'c1'], [1, 'c2'], [0, 'c3']], commit: true },
        { records: [[0, 'a1'], [1, 'a2']], commit: false },
        { records: [[1, 'c4']], commit: true },
      ],
    });
    expect(r.outcomes).toEqual(['committed', 'aborted', 'committed']);
    expect((await consume('tx-basic', 'read_committed')).values).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect((await consume('tx-basic', 'read_uncommitted')).values).toEqual(['a1', 'a2', 'c1', 'c2', 'c3', 'c4']);
  }, 120_000);

  it('a second producer with the same transactional.id fences the first', async () => {
    const r = await python<{ zombie: { fatal: boolean; name: string | null } }>('transactions.py', 'fence', broker.bootstrap, {
      topic: 'tx-fence', transactional_id: 'tx-fence-1',
    });
    expect(r.zombie.name).toMatch(/FENCED|INVALID_PRODUCER_EPOCH/);
    expect(r.zombie.fatal).toBe(true);
    expect((await consume('tx-fence', 'read_committed', [0])).values).toEqual(['fresh']);
  }, 120_000);

  it('a broker SIGKILLed mid-transaction: the open one is aborted after its timeout, the committed one stays whole', async () => {
    await python('transactions.py', 'transactions', broker.bootstrap, {
      topic: 'tx-kill', transactional_id: 'tx-kill-done', transactions: [{ records: [[0, 'done-0'], [1, 'done-1']], commit: true }],
    });
    const open = await python<{ unflushed: number }>('transactions.py', 'leave-open', broker.bootstrap, {
      topic: 'tx-kill', transactional_id: 'tx-kill-open', records: [[0, 'open-0'], [1, 'open-1']],
      config: { 'transaction.timeout.ms': 4000 },
    });
    expect(open.unflushed).toBe(0);
    await broker.kill('SIGKILL');
    broker = await startBroker({ overrides, dataDir: broker.dataDir, port: broker.port });
    // Restarted with the transaction still open: read_committed stops before its records.
    expect((await consume('tx-kill', 'read_committed')).values).toEqual(['done-0', 'done-1']);
    await new Promise((r) => setTimeout(r, 6000));
    const after = await python<{ outcomes: string[] }>('transactions.py', 'transactions', broker.bootstrap, {
      topic: 'tx-kill', transactional_id: 'tx-kill-done', transactions: [{ records: [[0, 'later-0']], commit: true }],
    });
    expect(after.outcomes).toEqual(['committed']);
    expect((await consume('tx-kill', 'read_committed')).values).toEqual(['done-0', 'done-1', 'later-0']);
    expect((await consume('tx-kill', 'read_uncommitted')).values).toEqual(['done-0', 'done-1', 'later-0', 'open-0', 'open-1']);
  }, 180_000);

  it('consume-transform-produce with send_offsets_to_transaction, SIGKILLed twice: each input is in the output once', async () => {
    const count = 50_000;
    const produced = await python<{ acked: number }>('confluent.py', 'produce-seq', broker.bootstrap, { topic: 'ctp-in', partitions: 2, count, timeout_s: 90 });
    expect(produced.acked).toBe(count);
    const args = { input: 'ctp-in', output: 'ctp-out', group: 'ctp', transactional_id: 'ctp-1', batch: 500, idle_s: 8, timeout_s: 150 };
    await transformUntilKilled(args, 5);
    await transformUntilKilled(args, 15);
    const last = await python<{ processed: number }>('transactions.py', 'transform', broker.bootstrap, args, 170_000);
    expect(last.processed).toBeGreaterThan(0);
    const out = (await consume('ctp-out', 'read_committed')).values;
    const expected: string[] = [];
    for (let i = 0; i < count; i++) expected.push(`T${i % 2}:${Math.floor(i / 2)}`);
    expect(out.length).toBe(count);
    expect(out).toEqual(expected.sort());
  }, 400_000);
});
