/**
 * `sluice transactions` as an operator runs it: the built CLI as child processes against a
 * real broker process, with transactions made by librdkafka (clients/transactions.py).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { runSluice, type CliRun } from './sluice-cli.js';
import { python } from './clients.js';


let broker: BrokerProcess;

function sluice(args: readonly string[]): Promise<CliRun> {
  return runSluice(broker.bootstrap, args);
}

async function ok(args: readonly string[]): Promise<string> {
  const run = await sluice(args);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'num.partitions': '1', 'transaction.state.log.num.partitions': '4', 'offsets.topic.num.partitions': '4' } });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

describe('sluice transactions', () => {
  it('lists and describes transactions, and aborts a hanging one so read_committed readers move on', async () => {
    await python('transactions.py', 'transactions', broker.bootstrap, {
      topic: 'cli-txn', transactional_id: 'cli-done', transactions: [{ records: [[0, 'first']], commit: true }],
    });
    await python('transactions.py', 'leave-open', broker.bootstrap, {
      topic: 'cli-txn', transactional_id: 'cli-open', records: [[0, 'hanging']], config: { 'transaction.timeout.ms': 600_000 },
    });
    await python('transactions.py', 'transactions', broker.bootstrap, {
      topic: 'cli-txn', transactional_id: 'cli-done', transactions: [{ records: [[0, 'after']], commit: true }],
    });

    const listed = await ok(['transactions', 'list']);
    expect(listed.split('\n')[0]).toMatch(/^TRANSACTIONAL-ID +PRODUCER-ID +STATE$/);
    expect(listed).toMatch(/^cli-done +\d+ +CompleteCommit$/m);
    expect(listed).toMatch(/^cli-open +\d+ +Ongoing$/m);
    const described = await ok(['transactions', 'describe', 'cli-open']);
    expect(described).toMatch(/^cli-open +1 +\d+ +0 +Ongoing +600000 +\d{4}-\d\d-\d\dT[\d:.]+Z +cli-txn-0$/m);

    // The open transaction holds read_committed readers before it: 'after' is not readable yet.
    const before = await python<{ values: string[] }>('transactions.py', 'consume', broker.bootstrap, { topic: 'cli-txn', partitions: [0], isolation: 'read_committed', idle_s: 2 });
    expect(before.values).toEqual(['first']);

    // 'first' is offset 0, its COMMIT marker 1: the hanging transaction starts at 2.
    expect(await ok(['transactions', 'abort', '--topic', 'cli-txn', '--partition', '0', '--start-offset', '2']))
      .toMatch(/^Aborted the transaction of producer \d+ \(epoch 0\) starting at offset 2 of cli-txn-0\.$/m);
    const after = await python<{ values: string[] }>('transactions.py', 'consume', broker.bootstrap, { topic: 'cli-txn', partitions: [0], isolation: 'read_committed', idle_s: 2 });
    expect(after.values).toEqual(['after', 'first']);

    const missing = await sluice(['transactions', 'abort', '--topic', 'cli-txn', '--partition', '0', '--start-offset', '2']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no open transaction starts at offset 2 of cli-txn-0/);
    const unknown = await sluice(['transactions', 'describe', 'nobody']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/TRANSACTIONAL_ID_NOT_FOUND/);
    const usage = await sluice(['transactions', 'abort', '--topic', 'cli-txn']);
    expect(usage.stderr).toMatch(/needs --topic, --partition and --start-offset/);
  }, 120_000);
});
