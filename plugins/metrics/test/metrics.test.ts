/**
 * The metrics plugin in a real broker (`plugins=kafka,metrics`): kcat (librdkafka)
 * produces N records and reads them back, then /metrics is scraped and the per-topic
 * counters, request counts and latency histograms, gauges and Node metrics are checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, logLines, startBroker, type BrokerProcess } from '../../kafka/test/broker-process.js';
import { run } from '../../kafka/test/clients.js';

const N = 25;
let broker: BrokerProcess;
let url: string;

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}/metrics`;
  broker = await startBroker({ overrides: { plugins: 'kafka,metrics', 'metrics.listeners': url, 'message.max.bytes': '4000' } });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

/** `name{labels} value` lines whose name and labels contain every given fragment. */
function value(text: string, name: string, ...labels: string[]): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' ')
    && labels.every((f) => l.includes(f)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe.sequential('metrics plugin', () => {
  it('counts what a real client produced and fetched, per topic and per API', async () => {
    const before = await (await fetch(url)).text();
    expect(value(before, 'sluice_broker_topic_messages_in_total', 'topic="m-orders"')).toBeUndefined();

    const lines = Array.from({ length: N }, (_, i) => `record-${i}`).join('\n');
    const produced = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', 'm-orders', '-X', 'acks=all'], { input: `${lines}\n` });
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', 'm-orders', '-p', '0', '-o', 'beginning', '-c', String(N), '-e']);
    expect(consumed.stdout.trim().split('\n')).toHaveLength(N);

    const text = await (await fetch(url)).text();
    expect(value(text, 'sluice_broker_topic_messages_in_total', 'topic="m-orders"')).toBe(N);
    const bytesIn = value(text, 'sluice_broker_topic_bytes_in_total', 'topic="m-orders"') ?? 0;
    expect(bytesIn).toBeGreaterThan(N * 'record-0'.length);
    expect(value(text, 'sluice_broker_topic_bytes_out_total', 'topic="m-orders"')).toBeGreaterThanOrEqual(bytesIn);
    expect(value(text, 'sluice_request_count_total', 'request="Produce"')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'sluice_request_count_total', 'request="Fetch"')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'sluice_request_duration_count', 'request="Produce"')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'sluice_request_duration_bucket', 'request="Metadata"', 'le="+Inf"')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'sluice_partition_count')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'sluice_log_size', 'topic="m-orders"', 'partition="0"')).toBeGreaterThan(0);
    expect(value(text, 'sluice_partition_under_replicated')).toBe(0);
    expect(value(text, 'nodejs_heap_used')).toBeGreaterThan(0);
    expect(text).toMatch(/^sluice_connection_count\{listener="PLAINTEXT"\} \d+$/m);
  });

  it('counts produce and fetch partitions answered with an error, per topic', async () => {
    const tooLarge = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', 'm-orders', '-X', 'acks=all', '-X', 'message.send.max.retries=0'],
      { input: `${'x'.repeat(6000)}\n` });
    expect(tooLarge.stderr).toMatch(/too large|MSG_SIZE_TOO_LARGE/i);
    await run('kcat', ['-b', broker.bootstrap, '-C', '-t', 'm-orders', '-p', '0', '-o', '100000', '-e', '-X', 'auto.offset.reset=error']);
    const text = await (await fetch(url)).text();
    expect(value(text, 'sluice_broker_topic_produce_failed_total', 'topic="m-orders"')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'sluice_broker_topic_fetch_failed_total', 'topic="m-orders"')).toBeGreaterThanOrEqual(1);
  });
});
