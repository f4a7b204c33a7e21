/**
 * The no-op interceptor of `npm run bench:interceptors`: one `produce.intercept` handler
 * that returns every batch unchanged. It prices what registering any interceptor costs
 * the produce path (the lazy record view, the hook input, the waterfall call; a
 * synchronous answer keeps the request off the dispatcher's order gate) without any work
 * of the interceptor's own.
 * Load it by path: `plugins=kafka,<repo>/bench/plugins/noop-interceptor/dist/index.js`.
 */
// Types only, as the example plugins do: nothing from the SDK is needed at run time.
import type { SluicePlugin } from '@sluice/sdk';

const plugin: SluicePlugin = {
  manifest: {
    id: 'noop-interceptor',
    version: '0.1.0',
    sdk: '^0.1.0',
    description: 'Benchmark: a produce interceptor that accepts every batch unchanged',
    configSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
  start(ctx) {
    // Synchronous on purpose: a sync chain allocates no promise (docs/plugins.md), which
    // is what a cheap interceptor should look like. No batch.records() call: decoding is
    // the interceptor's own work, not the hook point's.
    ctx.on('produce.intercept', (batch) => batch);
  },
};

export default plugin;
