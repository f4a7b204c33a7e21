/**
 * The metrics plugin in a real broker (`plugins=kafka,metrics`): kcat (librdkafka)
 * produces N records and reads them back, then /metrics is scraped and the per-topic
 * counters, request counts and latency histograms, gauges and Node metrics are checked;
 * raw requests commit a group's offset behind the end for lag and leave a long-poll
 * fetch waiting in the fetch purgatory; an in-test HTTP server receives the OTLP export.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../kafka/src/protocol/index.js';
import { buildBatch } from '../../kafka/src/records/batch.js';
import { freePort, logLines, startBroker, type BrokerProcess } from '../../kafka/test/broker-process.js';
import { run } from '../../kafka/test/clients.js';
import { rawConnect } from '../../kafka/test/raw-client.js';

const N = 25;
/** Short, so the first export arrives early in the run. */
const OTLP_INTERVAL_MS = 200;
let broker: BrokerProcess;
let url: string;
let otlp: Server;
/** Bodies of the OTLP requests received, decoded. */
const otlpBodies: string[] = [];
let otlpReceived: (body: string) => void = () => undefined;

beforeAll(async () => {
  otlp = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString();
      otlpBodies.push(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`);
      otlpReceived(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => otlp.listen(0, '127.0.0.1', resolve));
  const otlpPort = (otlp.address() as AddressInfo).port;
  const port = await freePort();
  url = `http://127.0.0.1:${port}/metrics`;
  broker = await startBroker({
    overrides: {
      plugins: 'kafka,metrics', 'metrics.listeners': url, 'message.max.bytes': '4000',
      'metrics.otlp.endpoint': `http://127.0.0.1:${otlpPort}/v1/metrics`, 'metrics.otlp.interval.ms': String(OTLP_INTERVAL_MS),
    },
  });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  await new Promise((resolve) => otlp?.close(resolve));
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
    // Kafka's RequestMetrics split: every produce request appears in each part.
    const produces = value(text, 'sluice_request_count_total', 'request="Produce"');
    for (const part of ['queue_time', 'local_time', 'response_send_time']) {
      expect(value(text, `sluice_request_${part}_count`, 'request="Produce"'), part).toBe(produces);
      expect(value(text, `sluice_request_${part}_bucket`, 'request="Produce"', 'le="+Inf"'), part).toBe(produces);
    }
    expect(value(text, 'sluice_request_duration_count', 'request="Produce"')).toBe(produces);
    expect(value(text, 'sluice_request_duration_bucket', 'request="Metadata"', 'le="+Inf"')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'sluice_partition_count')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'sluice_log_size', 'topic="m-orders"', 'partition="0"')).toBeGreaterThan(0);
    expect(value(text, 'sluice_partition_under_replicated')).toBe(0);
    expect(value(text, 'sluice_partition_offline')).toBe(0);
    expect(value(text, 'sluice_controller_active')).toBe(1);
    expect(value(text, 'sluice_purgatory_size', 'operation="Produce"')).toBe(0);
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

  it('reports a consumer group\'s committed offset and its lag behind the high watermark', async () => {
    const conn = await rawConnect(broker.port);
    try {
      await conn.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'm-lag', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false,
      });
      const records = Array.from({ length: N }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) }));
      const produced = await conn.request(ApiKey.Produce, 9, {
        transactionalId: null, acks: -1, timeoutMs: 10_000,
        topicData: [{ name: 'm-lag', partitionData: [{ index: 0, records: buildBatch(records, 1000) }] }],
      });
      expect(produced.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
      // As an admin tool commits for a group with no members (kafka-consumer-groups --reset-offsets).
      const committed = await conn.request(ApiKey.OffsetCommit, 7, {
        groupId: 'm-lagging', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
        topics: [{ name: 'm-lag', partitions: [0, 1].map((partitionIndex) =>
          ({ partitionIndex, committedOffset: partitionIndex === 0 ? 10 : 0, committedLeaderEpoch: -1, committedMetadata: null })) }],
      });
      expect(committed.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([0, 0]);
    } finally {
      conn.close();
    }
    const text = await (await fetch(url)).text();
    const labels = ['group="m-lagging"', 'topic="m-lag"'];
    expect(value(text, 'sluice_consumer_group_offset', ...labels, 'partition="0"')).toBe(10);
    expect(value(text, 'sluice_consumer_group_lag', ...labels, 'partition="0"')).toBe(N - 10);
    expect(value(text, 'sluice_consumer_group_lag', ...labels, 'partition="1"')).toBe(0);
  });

  it('counts a long-poll fetch in the fetch purgatory while it waits', async () => {
    const conn = await rawConnect(broker.port);
    try {
      await conn.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'm-wait', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false,
      });
      const waiting = conn.request(ApiKey.Fetch, 12, {
        maxWaitMs: 60_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic: 'm-wait', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1,
          lastFetchedEpoch: -1, logStartOffset: -1 }] }],
      });
      const fetchPurgatory = async (): Promise<number | undefined> =>
        value(await (await fetch(url)).text(), 'sluice_purgatory_size', 'operation="Fetch"');
      await expect.poll(fetchPurgatory, { timeout: 30_000 }).toBe(1);
      const producer = await rawConnect(broker.port);
      try {
        await producer.request(ApiKey.Produce, 9, {
          transactionalId: null, acks: -1, timeoutMs: 10_000,
          topicData: [{ name: 'm-wait', partitionData: [{ index: 0, records: buildBatch([{ key: null, value: Buffer.from('wake') }], 1000) }] }],
        });
      } finally {
        producer.close();
      }
      expect((await waiting).responses[0]!.partitions[0]!.records!.length).toBeGreaterThan(0);
      expect(await fetchPurgatory()).toBe(0);
    } finally {
      conn.close();
    }
  });

  it('pushes the metrics by OTLP/HTTP to the configured endpoint', async () => {
    const body = otlpBodies.find((b) => b.includes('sluice.request.count'))
      ?? await new Promise<string>((resolve) => {
        otlpReceived = (b) => {
          if (b.includes('sluice.request.count')) resolve(b);
        };
      });
    expect(body).toContain('sluice.partition.count');
    expect(otlpBodies[0]).toMatch(/^POST \/v1\/metrics application\/json /);
  });
});
