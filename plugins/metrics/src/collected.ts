/**
 * Gauges fed by the `metrics.collect` hook: what only a frontend knows (requests in
 * purgatory, consumer groups' committed offsets), asked for at each collection. Lag is
 * worked out here, as kafka_consumergroup_lag does: the partition's high watermark minus
 * the committed offset, never below 0; for a partition this node does not hold (a deleted
 * topic, or another node's partition in a cluster) only the offset is reported.
 */
import type { Meter } from '@opentelemetry/api';
import type { PluginContext } from '@sluice/sdk';

export function collectedMetrics(ctx: PluginContext, meter: Meter): void {
  const purgatory = meter.createObservableGauge('sluice.purgatory.size', {
    description: 'Requests waiting: acks=all produce requests for durability (Produce), fetches for data (Fetch)',
  });
  const offset = meter.createObservableGauge('sluice.consumer_group.offset', { description: 'Committed offset, per group and partition' });
  const lag = meter.createObservableGauge('sluice.consumer_group.lag', {
    description: 'High watermark minus committed offset, per group and partition',
  });
  meter.addBatchObservableCallback((result) => {
    ctx.hooks.runParallel('metrics.collect', {
      purgatorySize(operation, size) {
        result.observe(purgatory, size, { operation });
      },
      committedOffset(group, topic, partition, committed) {
        const attrs = { group, topic, partition };
        result.observe(offset, committed, attrs);
        const handle = ctx.kernel.partition(topic, partition);
        if (handle !== undefined) result.observe(lag, Math.max(0, handle.highWatermark - committed), attrs);
      },
    });
  }, [purgatory, offset, lag]);
}
