/**
 * `sluice topics`, `produce` and `consume` as an operator runs them: the built CLI as
 * child processes against a real broker process (build first: `tsc -b`).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './broker-process.js';
import { runSluice, type CliRun } from './sluice-cli.js';


let broker: BrokerProcess;

/** Runs `sluice <args>` against the broker, with `input` on stdin. */
function sluice(args: readonly string[], input = ''): Promise<CliRun> {
  return runSluice(broker.bootstrap, args, input);
}

async function ok(args: readonly string[], input?: string): Promise<string> {
  const run = await sluice(args, input);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

function outputLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
  if (broker !== undefined) rmSync(broker.dataDir, { recursive: true, force: true });
});

describe('sluice topics', () => {
  it('creates, lists, describes, alters and deletes a topic', async () => {
    expect(await ok(['topics', 'create', 'orders', '--partitions', '3', '--config', 'retention.ms=3600000']))
      .toBe('Created topic orders.\n');
    expect(outputLines(await ok(['topics', 'list']))).toContain('orders');

    const described = outputLines(await ok(['topics', 'describe', 'orders']));
    expect(described[0]).toMatch(/^Topic: orders\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 1$/);
    expect(described).toContain('\tConfig: retention.ms=3600000\tSource: DYNAMIC_TOPIC_CONFIG');
    for (let p = 0; p < 3; p++) {
      expect(described).toContain(`\tTopic: orders\tPartition: ${p}\tLeader: 1\tReplicas: 1\tIsr: 1`);
    }

    const again = await sluice(['topics', 'create', 'orders']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: cannot create topic orders: TOPIC_ALREADY_EXISTS/);
    expect(await ok(['topics', 'create', 'orders', '--if-not-exists'])).toBe('Topic orders already exists.\n');

    expect(await ok(['topics', 'alter', 'orders', '--partitions', '5', '--config', 'cleanup.policy=compact',
      '--delete-config', 'retention.ms'])).toBe('Altered topic orders: set cleanup.policy=compact, deleted retention.ms, 5 partitions.\n');
    const altered = outputLines(await ok(['topics', 'describe', 'orders']));
    expect(altered[0]).toContain('\tPartitionCount: 5\t');
    expect(altered).toContain('\tConfig: cleanup.policy=compact\tSource: DYNAMIC_TOPIC_CONFIG');
    expect(altered.some((l) => l.includes('retention.ms'))).toBe(false);
    expect(altered).toContain('\tTopic: orders\tPartition: 4\tLeader: 1\tReplicas: 1\tIsr: 1');

    expect(await ok(['topics', 'delete', 'orders'])).toBe('Deleted topic orders.\n');
    expect(outputLines(await ok(['topics', 'list']))).not.toContain('orders');
    const gone = await sluice(['topics', 'describe', 'orders']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('error: topic orders: UNKNOWN_TOPIC_OR_PARTITION\n');
  });

  it('names the Kafka error for a bad topic name and exits non-zero', async () => {
    const bad = await sluice(['topics', 'create', 'no/slashes']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: cannot create topic no\/slashes: INVALID_TOPIC_EXCEPTION/);
    expect(bad.stdout).toBe('');
  });

  it('rejects bad usage with exit code 2 and the usage', async () => {
    const run = await sluice(['topics', 'create', 'x', '--partitions', 'many']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: --partitions must be an integer from 1 to \d+, got many\n\nUsage: sluice topics/);
  });
});

describe('sluice produce and consume', () => {
  const keyed = Array.from({ length: 1000 }, (_, i) => `key-${i}:value ${i} ${'x'.repeat(i % 50)}`);

  beforeAll(async () => {
    await ok(['topics', 'create', 'events', '--partitions', '3']);
    const produced = await sluice(['produce', 'events', '--key-separator', ':'], keyed.map((l) => `${l}\n`).join(''));
    expect(produced.stderr).toMatch(/^produced 1000 records to events in \d+ batches\n$/);
    expect(produced.code).toBe(0);
  });

  it('reads back every keyed line', async () => {
    const run = await sluice(['consume', 'events', '--from-beginning', '--max-messages', '1000', '--print-key',
      '--key-separator', ':']);
    expect(run.code).toBe(0);
    const lines = outputLines(run.stdout);
    expect(lines).toHaveLength(1000);
    expect([...lines].sort()).toEqual([...keyed].sort());
    expect(run.stderr).toBe('consumed 1000 records\n');
  });

  it('reads one partition from an offset, in order', async () => {
    const whole = outputLines(await ok(['consume', 'events', '--partition', '1', '--from-beginning', '--timeout-ms', '1000']));
    expect(whole.length).toBeGreaterThan(10);
    // Within a partition, records keep the order they were produced in.
    const indexes = whole.map((v) => Number(/^value (\d+)/.exec(v)![1]));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));

    const slice = outputLines(await ok(['consume', 'events', '--partition', '1', '--offset', '5', '--max-messages', '3']));
    expect(slice).toEqual(whole.slice(5, 8));
  });

  it('stops after --timeout-ms without records, reading from the end by default', async () => {
    const run = await sluice(['consume', 'events', '--timeout-ms', '300']);
    expect(run).toEqual({ code: 0, stdout: '', stderr: 'consumed 0 records\n' });
  });

  it('sends unkeyed lines with gzip to a chosen partition', async () => {
    await ok(['topics', 'create', 'plain', '--partitions', '2']);
    const lines = ['first', '', 'third with spaces', 'ünïcødé'];
    const produced = await sluice(['produce', 'plain', '--partition', '1', '--compression', 'gzip', '--acks', '1'],
      lines.join('\r\n'));
    expect(produced).toMatchObject({ code: 0, stderr: 'produced 4 records to plain in 1 batch\n' });
    const run = await sluice(['consume', 'plain', '--partition', '1', '--offset', 'earliest', '--max-messages', '4', '--print-key']);
    expect(run.stdout).toBe(lines.map((l) => `null\t${l}\n`).join(''));
    const empty = await sluice(['consume', 'plain', '--partition', '0', '--from-beginning', '--timeout-ms', '200']);
    expect(empty.stdout).toBe('');
  });

  it('reports a line without the key separator and exits 1', async () => {
    const run = await sluice(['produce', 'events', '--key-separator', ':'], 'k:v\nno separator\nk2:v2\n');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('produced 1 record to events in 1 batch\nerror: line 2 has no key separator ":"; the lines before it were sent\n');
  });

  it('names the Kafka error of a failed batch and exits 1', async () => {
    await ok(['topics', 'create', 'small', '--config', 'max.message.bytes=200']);
    const run = await sluice(['produce', 'small'], `${'y'.repeat(500)}\n`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: a batch of 1 record to small-0 failed: MESSAGE_TOO_LARGE/);
    expect(run.stderr).toMatch(/produced 0 records to small in 0 batches; 1 record in 1 batch failed\n$/);
  });

  it('gives a clear error for a topic that does not exist', async () => {
    const run = await sluice(['consume', 'nowhere', '--timeout-ms', '100']);
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: topic nowhere: UNKNOWN_TOPIC_OR_PARTITION\n' });
  });
});

describe('sluice --help', () => {
  it('lists the Kafka commands, each with its own help', async () => {
    const top = await sluice(['--help']);
    expect(top.stdout).toMatch(/\n {2}topics +.+\n {2}produce +.+\n {2}consume +.+\n/);
    for (const command of [['topics'], ['produce'], ['consume']]) {
      const run = await sluice([...command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: sluice ${command[0]} `));
      expect(run.stdout).toContain('--bootstrap-server host:port');
    }
  });
});
