/**
 * An example plugin on the kernel seam: it appends one JSON line per topic change to
 * `audit.file` (server.properties key) and logs how many batches were appended when the
 * broker stops. Load it with `plugins=./examples/audit-plugin/dist/index.js`.
 */
import { appendFileSync } from 'node:fs';
import { definePlugin } from '@sluice/sdk';

let appendedBatches = 0;
let unsubscribe: Array<() => void> = [];
let stopLog: (() => void) | undefined;

export default definePlugin({
  manifest: { id: 'audit', version: '0.1.0' },
  start(ctx) {
    const file = ctx.config['file'];
    if (file === undefined) throw new Error('audit.file is not set');
    const write = (event: string, fields: Record<string, unknown>): void => {
      appendFileSync(file, JSON.stringify({ event, ...fields }) + '\n');
    };
    unsubscribe = [
      ctx.kernel.on('topic.created', (e) => write('topic.created', { topic: e.topic.name, partitions: e.topic.partitions })),
      ctx.kernel.on('topic.deleted', (e) => write('topic.deleted', { topic: e.name })),
      ctx.kernel.on('topic.config.changed', (e) => write('topic.config.changed', { topic: e.name, configs: e.configs })),
      ctx.kernel.on('batch.appended', () => {
        appendedBatches++;
      }),
    ];
    stopLog = () => ctx.log.info('audit plugin stopping', { appendedBatches });
  },
  stop() {
    for (const off of unsubscribe) off();
    unsubscribe = [];
    stopLog?.();
  },
});
