/**
 * OTLP export, when `metrics.otlp.endpoint` is set: the same metrics pushed as OTLP/HTTP
 * JSON to a collector every `metrics.otlp.interval.ms`, beside the Prometheus scrape.
 */
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

/** OpenTelemetry's own default export interval. */
export const OTLP_INTERVAL_MS_DEFAULT = 60_000;
/** OpenTelemetry's default export timeout; it must not exceed the interval, so a shorter interval lowers it. */
const OTLP_EXPORT_TIMEOUT_MS_MAX = 30_000;

/** A reader pushing to `endpoint` (the full URL, e.g. http://collector:4318/v1/metrics). */
export function otlpReader(endpoint: string, intervalMs: number): PeriodicExportingMetricReader {
  const url = new URL(endpoint);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`metrics.otlp.endpoint: http:// or https:// expected, got ${endpoint}`);
  return new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: url.href }), exportIntervalMillis: intervalMs,
    exportTimeoutMillis: Math.min(intervalMs, OTLP_EXPORT_TIMEOUT_MS_MAX),
  });
}
