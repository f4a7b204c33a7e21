/**
 * `sluice transactions` as an operator runs it: the built CLI as child processes against a
 * real broker process, with transactions made by librdkafka (clients/transactions.py).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python } from './clients.js';

const MAIN = join(REPO_ROOT, 'kernel/dist/cli/main.js');
const RUN_TIMEOUT_MS = 30_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let broker: BrokerProcess;

function sluice(args: readonly string[]): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, ...args, '--bootstrap-server', broker.bootstrap], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not exit within ${RUN_TIMEOUT_MS} ms:\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
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
