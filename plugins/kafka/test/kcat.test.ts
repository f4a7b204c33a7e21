/**
 * kcat (librdkafka) against a real broker process: metadata, then 1000 lines produced and
 * consumed back from the beginning, identical and in order at offsets 0..999.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { run } from './clients.js';

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

describe.sequential('kcat', () => {
  it('lists the broker at its advertised address', async () => {
    const result = await run('kcat', ['-b', broker.bootstrap, '-L', '-J', '-m', '10']);
    expect(result.code, result.stderr).toBe(0);
    const metadata = JSON.parse(result.stdout) as { brokers: Array<{ id: number; name: string }> };
    expect(metadata.brokers).toEqual([{ id: 1, name: broker.bootstrap }]);
  });

  it('consumes back 1000 produced lines, identical and in order', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => String(i + 1));
    const produced = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', 'kcat-lines', '-X', 'acks=all', '-m', '20'], {
      input: `${lines.join('\n')}\n`,
    });
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stderr).not.toMatch(/ERROR/);

    const consumed = await run('kcat', [
      '-b', broker.bootstrap, '-C', '-t', 'kcat-lines', '-o', 'beginning', '-e', '-q', '-f', '%p %o %s\\n', '-m', '20',
    ]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const got = consumed.stdout.split('\n').filter((l) => l !== '');
    expect(got).toEqual(lines.map((line, i) => `0 ${i} ${line}`));
  });
});
