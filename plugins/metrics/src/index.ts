/**
 * Broker metrics under OpenTelemetry names, served as Prometheus text on
 * `metrics.listeners` (default http://0.0.0.0:9644/metrics) and pushed by OTLP when
 * `metrics.otlp.endpoint` is set. docs/metrics.md maps each to the JMX name Kafka
 * operators know.
 *
 * Sources, all through @sluice/sdk: `record.committed` (messages and bytes in),
 * `produce.failed` / `fetch.failed` (partitions answered with an error code),
 * `fetch.intercept` as a pass-through observer (bytes out: no other hook sees what a
 * fetch returns), `request.completed` (per-API count and the latency split), connection
 * hooks, `metrics.collect` (purgatory sizes and committed offsets, asked of the frontend
 * at each collection), and the kernel's topics and partitions, read when collected.
 * Node's heap, event-loop delay and GC stand in for Kafka's JVM metrics.
 *
 * HTTP: the OpenTelemetry Prometheus exporter's own server. It does one thing (GET the
 * text format at one path), so fastify would add a dependency and a second serializer
 * for nothing.
 */
import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import { definePlugin, type PluginContext } from '@sluice/sdk';
import { collectedMetrics } from './collected.js';
import { OTLP_INTERVAL_MS_DEFAULT, otlpReader } from './otlp.js';
import { activeControllerCount, partitionHealth } from './replication.js';

const DEFAULT_LISTENER = 'http://0.0.0.0:9644/metrics';
/** Bounds in ms for request latency: Kafka's requests span sub-ms metadata to 500 ms+ long polls. */
const LATENCY_BOUNDARIES_MS = [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

let exporter: PrometheusExporter | undefined;
let provider: MeterProvider | undefined;
let stopNodeMetrics: (() => void) | undefined;

/** `http://host:port/path` from metrics.listeners; one listener for now. */
export function parseListener(value: string): { host: string; port: number; endpoint: string } {
  const url = new URL(value);
  if (url.protocol !== 'http:') throw new Error(`metrics.listeners: only http:// is served, got ${value}`);
  const port = url.port === '' ? 80 : Number(url.port);
  return { host: url.hostname, port, endpoint: url.pathname === '' ? '/metrics' : url.pathname };
}

export default definePlugin({
  manifest: {
    id: 'metrics', version: '0.1.0', sdk: '^0.1.0',
    description: 'Kafka broker metrics under OpenTelemetry names, as Prometheus text',
    configSchema: {
      type: 'object',
      properties: {
        listeners: { type: 'string', default: DEFAULT_LISTENER, description: 'Where Prometheus scrapes: http://host:port/path (one listener)' },
        'otlp.endpoint': {
          type: 'string', default: '', description: 'OTLP/HTTP metrics URL to push to, e.g. http://collector:4318/v1/metrics (empty: no OTLP export)',
        },
        'otlp.interval.ms': { type: 'integer', minimum: 1, default: OTLP_INTERVAL_MS_DEFAULT, description: 'How often OTLP export pushes, in ms' },
      },
      additionalProperties: false,
    },
  },
  async start(ctx) {
    const listener = parseListener(ctx.config['listeners'] ?? DEFAULT_LISTENER);
    exporter = new PrometheusExporter({ ...listener, preventServerStart: true, withoutScopeInfo: true });
    const readers: MetricReader[] = [exporter];
    const otlpEndpoint = ctx.config['otlp.endpoint'] ?? '';
    if (otlpEndpoint !== '') {
      readers.push(otlpReader(otlpEndpoint, Number(ctx.config['otlp.interval.ms'] ?? OTLP_INTERVAL_MS_DEFAULT)));
      ctx.log.info('metrics pushed by OTLP', { endpoint: otlpEndpoint });
    }
    provider = new MeterProvider({ readers });
    brokerMetrics(ctx, provider);
    stopNodeMetrics = nodeMetrics(provider);
    await exporter.startServer();
    ctx.log.info('metrics served', { url: `http://${listener.host}:${listener.port}${listener.endpoint}` });
  },
  async stop() {
    stopNodeMetrics?.();
    await exporter?.stopServer();
    await provider?.shutdown();
    exporter = undefined;
    provider = undefined;
    stopNodeMetrics = undefined;
  },
});

function brokerMetrics(ctx: PluginContext, provider: MeterProvider): void {
  const meter = provider.getMeter('sluice.broker');
  const messagesIn = meter.createCounter('sluice.broker.topic.messages.in', { description: 'Records appended, per topic' });
  const bytesIn = meter.createCounter('sluice.broker.topic.bytes.in', { unit: 'By', description: 'Bytes appended, per topic' });
  const bytesOut = meter.createCounter('sluice.broker.topic.bytes.out', { unit: 'By', description: 'Record bytes returned to fetches, per topic' });
  const failedProduce = meter.createCounter('sluice.broker.topic.produce.failed', { description: 'Produce partitions answered with an error, per topic' });
  const failedFetch = meter.createCounter('sluice.broker.topic.fetch.failed', { description: 'Fetch partitions answered with an error, per topic' });
  const requests = meter.createCounter('sluice.request.count', { description: 'Requests handled, per API' });
  const failedRequests = meter.createCounter('sluice.request.failed', { description: 'Requests that closed their connection, per API' });
  const latency = (name: string, description: string) => meter.createHistogram(name, {
    unit: 'ms', description, advice: { explicitBucketBoundaries: LATENCY_BOUNDARIES_MS },
  });
  const total = latency('sluice.request.duration', 'Time from request read to response written, per API');
  const queueTime = latency('sluice.request.queue_time', 'Time from request read to its handler starting, per API');
  const localTime = latency('sluice.request.local_time', 'Time in the handler, waits for durability and data included, per API');
  const sendTime = latency('sluice.request.response_send_time', 'Time from response ready to written to the socket, per API');
  const connections = meter.createUpDownCounter('sluice.connection.count', { description: 'Open client connections, per listener' });

  ctx.on('record.committed', (e) => {
    messagesIn.add(e.recordCount, { topic: e.topic });
    bytesIn.add(e.sizeBytes, { topic: e.topic });
  });
  ctx.on('fetch.intercept', (batch, input) => {
    bytesOut.add(batch.bytes.length, { topic: input.topic });
    return batch;
  }, { order: 'post', onError: 'skip', onTimeout: 'skip' });
  ctx.on('produce.failed', (e) => failedProduce.add(1, { topic: e.topic }));
  ctx.on('fetch.failed', (e) => failedFetch.add(1, { topic: e.topic }));
  ctx.on('request.completed', (e) => {
    const attrs = { request: e.apiName };
    requests.add(1, attrs);
    total.record(e.durationMs, attrs);
    queueTime.record(e.requestQueueMs, attrs);
    localTime.record(e.localMs, attrs);
    if (e.failed) failedRequests.add(1, attrs);
    else sendTime.record(e.responseSendMs, attrs);
  });
  ctx.on('connection.accepted', (c) => connections.add(1, { listener: c.listener }));
  ctx.on('connection.closed', (e) => connections.add(-1, { listener: e.connection.listener }));

  meter.createObservableGauge('sluice.partition.count', { description: 'Partitions on this broker' }).addCallback((r) => {
    r.observe(ctx.kernel.listTopics().reduce((n, t) => n + t.partitions, 0));
  });
  const underReplicated = meter.createObservableGauge('sluice.partition.under_replicated', {
    description: 'Partitions this node leads whose ISR is smaller than their replica set',
  });
  const offline = meter.createObservableGauge('sluice.partition.offline', { description: 'Partitions without a leader' });
  meter.addBatchObservableCallback((r) => {
    const health = partitionHealth(ctx.kernel);
    r.observe(underReplicated, health.underReplicated);
    r.observe(offline, health.offline);
  }, [underReplicated, offline]);
  meter.createObservableGauge('sluice.controller.active', { description: '1 on the active controller, 0 on other nodes' })
    .addCallback((r) => r.observe(activeControllerCount(ctx.kernel)));
  collectedMetrics(ctx, meter);
  meter.createObservableGauge('sluice.log.size', { unit: 'By', description: 'Bytes on disk, per partition' }).addCallback((r) => {
    for (const t of ctx.kernel.listTopics()) {
      for (let p = 0; p < t.partitions; p++) {
        const handle = ctx.kernel.partition(t.name, p);
        if (handle !== undefined) r.observe(handle.sizeBytes, { topic: t.name, partition: p });
      }
    }
  });
}

/** Node's stand-ins for Kafka's JVM metrics; returns what stops the samplers. */
function nodeMetrics(provider: MeterProvider): () => void {
  const meter = provider.getMeter('sluice.nodejs');
  meter.createObservableGauge('nodejs.heap.used', { unit: 'By' }).addCallback((r) => r.observe(process.memoryUsage().heapUsed));
  meter.createObservableGauge('nodejs.heap.total', { unit: 'By' }).addCallback((r) => r.observe(process.memoryUsage().heapTotal));
  meter.createObservableGauge('nodejs.memory.rss', { unit: 'By' }).addCallback((r) => r.observe(process.memoryUsage.rss()));
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // Percentiles since the previous scrape: reset after each read.
  meter.createObservableGauge('nodejs.eventloop.delay', { unit: 'ms', description: 'Event-loop delay since the previous scrape' })
    .addCallback((r) => {
      if (loop.count > 0) {
        r.observe(loop.mean / 1e6, { stat: 'mean' });
        r.observe(loop.percentile(99) / 1e6, { stat: 'p99' });
        r.observe(loop.max / 1e6, { stat: 'max' });
      }
      loop.reset();
    });
  const gc = meter.createHistogram('nodejs.gc.duration', {
    unit: 'ms', description: 'Garbage collection pauses', advice: { explicitBucketBoundaries: [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250] },
  });
  const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
      gc.record(entry.duration, { kind: GC_KINDS[kind] ?? String(kind) });
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  return () => {
    loop.disable();
    gcObserver.disconnect();
  };
}
