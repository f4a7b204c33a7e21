import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ANONYMOUS, Decision, type ConnectionDescription, type HandlerFor, type HookName, type HookOptions, type LogRecord, type ProduceInterceptInput } from '@sluice/sdk';
import { Broker } from '../broker.js';
import { ManualClock } from '../clock.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { KernelEventBus } from '../events.js';
import { buildBatch } from '../log/batch-builder.js';
import { CODEC_GZIP } from '../log/compression.js';
import * as rb from '../log/record-batch.js';
import { captureLogger, tempDir } from '../../test/fixtures.js';
import { HookDriver } from './hook-driver.js';

const log = captureLogger();
const connection: ConnectionDescription = { id: 1, protocol: 'kafka', listener: 'PLAINTEXT', remoteAddress: '127.0.0.1', remotePort: 1 };
const produceInput = (topic = 'orders'): ProduceInterceptInput => ({
  connection, principal: ANONYMOUS, topic, partition: 0, clientId: 'c', acks: 'leader',
});
const batch = (values: string[], compression = 0) =>
  buildBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestampMs: 1000 })), { compression, producerId: 7, producerEpoch: 1, baseSequence: 0 });

function driver(events?: KernelEventBus): HookDriver & { add<N extends HookName>(plugin: string, n: N, h: HandlerFor<N>, o?: HookOptions): () => void } {
  const d = new HookDriver(log, events) as HookDriver & { add: unknown };
  d.add = (plugin: string, n: HookName, h: never, o?: HookOptions) => d.register(plugin, log, n, h, o);
  return d as never;
}

describe('HookDriver', () => {
  it('orders pre, normal, post, then priority, then registration; fixed at freeze', async () => {
    const d = driver();
    const seen: string[] = [];
    const mark = (name: string): HandlerFor<'broker.started'> => () => void seen.push(name);
    d.add('a', 'broker.started', mark('post'), { order: 'post' });
    d.add('a', 'broker.started', mark('normal-1'));
    d.add('b', 'broker.started', mark('normal-2'));
    d.add('b', 'broker.started', mark('high'), { priority: 10 });
    d.add('c', 'broker.started', mark('pre'), { order: 'pre', priority: -5 });
    expect(d.hasHandlers('broker.started')).toBe(false);
    d.freeze();
    expect(d.hasHandlers('broker.started')).toBe(true);
    await d.runSequential('broker.started', { nodeId: 1, clusterId: 'x' });
    expect(seen).toEqual(['pre', 'high', 'normal-1', 'normal-2', 'post']);
    expect(() => d.add('late', 'broker.started', mark('late'))).toThrow(/closed/);
  });

  it('an unregistered hook returns constants without calling anything', () => {
    const d = driver();
    d.freeze();
    expect(d.hasHandlers('produce.intercept')).toBe(false);
    const view = d.recordBatches(batch(['a']));
    const r = d.runWaterfall('produce.intercept', view, produceInput());
    expect(r).toEqual({ outcome: 'accept', value: view });
    expect(d.runFirst('connection.authenticate', { connection, mechanism: null })).toEqual(Decision.accept(ANONYMOUS));
    expect(d.runFirst('request.authorize', { connection, principal: ANONYMOUS, apiKey: 0, apiName: 'Produce', apiVersion: 9, clientId: null }))
      .toBe(Decision.accept());
  });

  it('first: the first decision wins, next passes on, all-next gives the default; sync chains stay synchronous', () => {
    const d = driver();
    const calls: string[] = [];
    d.add('a', 'request.authorize', () => (calls.push('a'), Decision.next));
    d.add('b', 'request.authorize', (i) => (calls.push('b'), i.apiKey === 0 ? Decision.reject(29, 'no') : Decision.next));
    d.add('c', 'request.authorize', () => (calls.push('c'), Decision.next));
    d.freeze();
    const input = { connection, principal: ANONYMOUS, apiKey: 0, apiName: 'Produce', apiVersion: 9, clientId: null };
    expect(d.runFirst('request.authorize', input)).toEqual({ outcome: 'reject', errorCode: 29, reason: 'no' });
    expect(calls).toEqual(['a', 'b']);
    expect(d.runFirst('request.authorize', { ...input, apiKey: 1 })).toEqual(Decision.accept());
  });

  it('waterfall: each handler sees the previous value; a transform is re-encoded; a rejection stops the chain', async () => {
    const d = driver();
    d.add('upper', 'produce.intercept', (b) => b.withRecords(b.records().map((r): LogRecord => ({ ...r, value: Buffer.from(String(r.value).toUpperCase()) }))));
    d.add('suffix', 'produce.intercept', async (b) => b.withRecords(b.records().map((r) => ({ ...r, value: Buffer.from(`${String(r.value)}!`) }))));
    d.add('policy', 'produce.intercept', (b, i) => (i.topic === 'forbidden' ? Decision.reject(44, 'no') : b));
    d.freeze();
    const out = await d.runWaterfall('produce.intercept', d.recordBatches(batch(['a', 'bc'], CODEC_GZIP)), produceInput());
    expect(out.outcome).toBe('accept');
    if (out.outcome !== 'accept') return;
    expect(out.value.records().map((r) => String(r.value))).toEqual(['A!', 'BC!']);
    const bytes = Buffer.from(out.value.bytes);
    expect(rb.batchCrcValid(bytes, 0, bytes.length)).toBe(true);
    expect([rb.batchProducerId(bytes, 0), rb.batchBaseSequence(bytes, 0), rb.batchRecordCount(bytes, 0)]).toEqual([7, 0, 2]);
    expect(await d.runWaterfall('produce.intercept', d.recordBatches(batch(['a'])), produceInput('forbidden')))
      .toEqual({ outcome: 'reject', errorCode: 44, reason: 'no' });
  });

  it('the record view decodes only when asked', () => {
    const d = driver();
    const view = d.recordBatches(Buffer.from('not a batch at all, but long enough to have a header of sixty one bytes...'));
    expect(() => view.records()).toThrow();
    const ok = d.recordBatches(batch(['x', 'y', 'z']));
    expect(ok.recordCount).toBe(3);
  });

  it('a throwing or hanging data-path handler fails closed with its code; skip passes; failures are counted', async () => {
    const d = driver();
    d.add('thrower', 'produce.intercept', () => {
      throw new Error('boom');
    }, { filter: { topics: ['t-throw'] } });
    d.add('hanger', 'produce.intercept', () => new Promise<never>(() => undefined), { timeoutMs: 20, filter: { topics: [/^t-hang/] } });
    d.add('lenient', 'produce.intercept', () => new Promise<never>(() => undefined),
      { timeoutMs: 20, onTimeout: 'skip', filter: { topics: ['t-skip'] } });
    d.add('coded', 'request.authorize', () => {
      throw new Error('no acl store');
    }, { errorCode: 29 });
    d.freeze();
    const view = d.recordBatches(batch(['a']));
    expect(d.runWaterfall('produce.intercept', view, produceInput('t-throw'))).toMatchObject({ outcome: 'reject', errorCode: 44 });
    expect(await d.runWaterfall('produce.intercept', view, produceInput('t-hang-1'))).toMatchObject({ outcome: 'reject', errorCode: 44 });
    expect(await d.runWaterfall('produce.intercept', view, produceInput('t-skip'))).toEqual({ outcome: 'accept', value: view });
    expect(d.runWaterfall('produce.intercept', view, produceInput('other'))).toEqual({ outcome: 'accept', value: view });
    expect(d.runFirst('request.authorize', { connection, principal: ANONYMOUS, apiKey: 3, apiName: 'Metadata', apiVersion: 9, clientId: null }))
      .toMatchObject({ outcome: 'reject', errorCode: 29 });
    expect(d.failures()).toEqual(expect.arrayContaining([
      { plugin: 'thrower', hook: 'produce.intercept', errors: 1, timeouts: 0 },
      { plugin: 'hanger', hook: 'produce.intercept', errors: 0, timeouts: 1 },
      { plugin: 'lenient', hook: 'produce.intercept', errors: 0, timeouts: 1 },
    ]));
  });

  it('an asynchronous handler: a rejection fails closed; an answer after the deadline is neither used nor counted', async () => {
    const d = driver();
    d.add('refuser', 'produce.intercept', () => Promise.reject(new Error('no')), { filter: { topics: ['t-refuse'] } });
    let answerLate: ((err: Error) => void) | undefined;
    d.add('late', 'produce.intercept', () => new Promise<never>((_, reject) => {
      answerLate = reject;
    }), { timeoutMs: 20, onTimeout: 'skip', filter: { topics: ['t-late'] } });
    d.freeze();
    const view = d.recordBatches(batch(['a']));
    expect(await d.runWaterfall('produce.intercept', view, produceInput('t-refuse'))).toMatchObject({ outcome: 'reject', errorCode: 44 });
    expect(await d.runWaterfall('produce.intercept', view, produceInput('t-late'))).toEqual({ outcome: 'accept', value: view });
    answerLate!(new Error('too late'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(d.failures()).toEqual(expect.arrayContaining([
      { plugin: 'refuser', hook: 'produce.intercept', errors: 1, timeouts: 0 },
      { plugin: 'late', hook: 'produce.intercept', errors: 0, timeouts: 1 },
    ]));
  });

  it('parallel observers: failures are counted, others still run, and kernel events feed them', async () => {
    const events = new KernelEventBus(log);
    const d = driver(events);
    const seen: string[] = [];
    d.add('bad', 'topic.created', () => {
      throw new Error('observer bug');
    });
    d.add('bad-async', 'topic.created', async () => {
      throw new Error('async observer bug');
    });
    d.add('good', 'topic.created', (e) => void seen.push(e.topic.name), { filter: { topics: ['keep'] } });
    expect(events.has('topic.created')).toBe(false);
    d.freeze();
    const topic = (name: string) => ({ topic: { name, topicId: new Uint8Array(16), partitions: 1, configs: {} } });
    events.emit('topic.created', topic('keep'));
    events.emit('topic.created', topic('skip'));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['keep']);
    expect(d.failures()).toEqual(expect.arrayContaining([
      { plugin: 'bad', hook: 'topic.created', errors: 2, timeouts: 0 },
      { plugin: 'bad-async', hook: 'topic.created', errors: 2, timeouts: 0 },
    ]));
    d.removePlugin('good');
    d.removePlugin('bad');
    d.removePlugin('bad-async');
    expect(d.hasHandlers('topic.created')).toBe(false);
    expect(events.has('topic.created')).toBe(false);
  });

  it('rejects a topic filter on a hook without a topic', () => {
    expect(() => driver().add('x', 'connection.accepted', () => undefined, { filter: { topics: ['a'] } })).toThrow(/no topic/);
  });
});

describe('plugins register hooks through their context', () => {
  const dirs: Array<{ cleanup(): void }> = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  it('registrations run from broker start and are removed when the plugin stops', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'hooked.mjs');
    writeFileSync(file, `
      export const seen = [];
      export default {
        manifest: { id: 'hooked', version: '1.0.0' },
        start(ctx) {
          ctx.on('broker.started', (e) => { seen.push('started ' + e.nodeId); });
          ctx.on('record.committed', (e) => { seen.push('committed ' + e.topic + ' ' + e.recordCount); });
          ctx.on('broker.stopping', () => { seen.push('stopping'); });
        },
      };`);
    const config = loadBrokerConfig({ 'log.dirs': join(dir.path, 'data'), plugins: file, 'node.id': '3' }, { warn: () => undefined });
    const broker = await Broker.start(config, 'c', captureLogger(), new ManualClock());
    const mod = (await import(file)) as { seen: string[] };
    await broker.createTopic('t', 1, {});
    await broker.partition('t', 0)!.append(batch(['a', 'b']), 'leader');
    expect(broker.hooks.hasHandlers('record.committed')).toBe(true);
    await broker.stop();
    expect(mod.seen).toEqual(['started 3', 'committed t 2', 'stopping']);
    expect(broker.hooks.hasHandlers('record.committed')).toBe(false);
  });
});
