import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asOffset } from '@sluice/sdk';
import { Broker } from './broker.js';
import { ManualClock } from './clock.js';
import { loadBrokerConfig } from './config/broker-config.js';
import { buildBatch } from './log/batch-builder.js';
import { LogManager } from './log/log-manager.js';
import { KernelEventBus } from './events.js';
import * as rb from './log/record-batch.js';
import { captureLogger, tempDir } from '../test/fixtures.js';

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function newDir(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

async function startBroker(dir: string, props: Record<string, string> = {}): Promise<Broker> {
  // No frontend: these tests drive the kernel API directly.
  const config = loadBrokerConfig({ 'log.dirs': dir, plugins: '', ...props }, { warn: () => undefined });
  return Broker.start(config, 'test-cluster', captureLogger(), new ManualClock());
}

const record = (v: string) => buildBatch([{ key: Buffer.from('k'), value: Buffer.from(v), timestampMs: 5 }]);

function firstBatch(records: Uint8Array): Buffer {
  return Buffer.from(records.buffer, records.byteOffset, records.byteLength);
}

describe('Broker and LogManager', () => {
  it('keeps topics, configs and data across a clean restart', async () => {
    const dir = newDir();
    let broker = await startBroker(dir);
    await broker.createTopic('orders', 3, { 'retention.ms': '1000', 'cleanup.policy': 'delete' });
    await broker.partition('orders', 2)!.append(record('hello'), 'durable');
    await broker.stop();
    expect(existsSync(join(dir, '.sluice_cleanshutdown'))).toBe(true);

    broker = await startBroker(dir);
    expect(existsSync(join(dir, '.sluice_cleanshutdown'))).toBe(false);
    expect(broker.describeTopic('orders')).toMatchObject({ partitions: 3, configs: { 'retention.ms': '1000' } });
    const read = broker.partition('orders', 2)!.read(asOffset(0), 1 << 20, 'read_uncommitted');
    expect(rb.batchBaseOffset(firstBatch(read.records), 0)).toBe(0);
    expect(read.highWatermark).toBe(1);
    await broker.stop();
  });

  it('recovers acknowledged data after a crash (no clean stop)', async () => {
    const dir = newDir();
    const broker = await startBroker(dir);
    await broker.createTopic('t', 1, {});
    for (let i = 0; i < 10; i++) await broker.partition('t', 0)!.append(record(`v${i}`), 'durable');
    // No stop(): as after SIGKILL. A second manager opens the same directories.
    const log = captureLogger();
    const manager = LogManager.open({
      logDirs: [dir], brokerProps: {}, nodeId: 1, clock: new ManualClock(), log, events: new KernelEventBus(log),
      retentionCheckIntervalMs: 0, flushSchedulerIntervalMs: 0, flushOffsetCheckpointIntervalMs: 0,
      producerIdExpirationMs: 86_400_000, producerIdExpirationCheckIntervalMs: 0,
      cleanerEnable: false, cleanerKeyMapBytesMax: 1 << 20, cleanerBackoffMs: 0,
    });
    expect(manager.openReplicaLog('t', 0, false).logEndOffset).toBe(10);
    await manager.close();
  });

  it('moves the recovery point on disk back when replication truncates a log', async () => {
    const dir = newDir();
    const broker = await startBroker(dir);
    await broker.createTopic('t', 1, {});
    for (let i = 0; i < 10; i++) await broker.partition('t', 0)!.append(record(`v${i}`), 'durable');
    const recoveryPoint = (): string | undefined => readFileSync(join(dir, 'recovery-point-offset-checkpoint'), 'utf8')
      .split('\n').find((l) => l.startsWith('t 0 '));
    broker.logs.writeCheckpoints();
    expect(recoveryPoint()).toBe('t 0 10');
    broker.logs.openReplicaLog('t', 0, false).truncateTo(4);
    expect(recoveryPoint()).toBe('t 0 4');
    await broker.stop();
  });

  it('answers bad topic requests with Kafka error codes', async () => {
    const broker = await startBroker(newDir());
    await broker.createTopic('ok', 1, {});
    await expect(broker.createTopic('ok', 1, {})).rejects.toMatchObject({ code: 36 });
    await expect(broker.createTopic('bad name', 1, {})).rejects.toMatchObject({ code: 17 });
    await expect(broker.createTopic('x'.repeat(250), 1, {})).rejects.toMatchObject({ code: 17 });
    await expect(broker.createTopic('zero', 0, {})).rejects.toMatchObject({ code: 37 });
    await expect(broker.createTopic('cfg', 1, { 'retention.ms': 'soon' })).rejects.toMatchObject({ code: 40 });
    await expect(broker.createTopic('cfg', 1, { 'no.such.key': '1' })).rejects.toMatchObject({ code: 40 });
    await expect(broker.createPartitions('ok', 1)).rejects.toMatchObject({ code: 37 });
    await expect(broker.deleteTopic('missing')).rejects.toMatchObject({ code: 3 });
    expect(broker.describeTopic('cfg')).toBeUndefined();
    await broker.createTopic('dry', 1, {}, { validateOnly: true });
    expect(broker.describeTopic('dry')).toBeUndefined();
    await broker.stop();
  });

  it('applies config changes live and persists them', async () => {
    const dir = newDir();
    let broker = await startBroker(dir);
    await broker.createTopic('t', 1, { 'retention.ms': '5000' });
    await broker.alterTopicConfigs('t', { 'message.timestamp.type': 'LogAppendTime', 'retention.ms': null });
    const result = await broker.partition('t', 0)!.append(record('a'), 'durable');
    expect(result.logAppendTimeMs).toBeGreaterThan(0);
    await expect(broker.alterTopicConfigs('t', { 'segment.bytes': '12' })).rejects.toMatchObject({ code: 40 });
    await broker.stop();
    broker = await startBroker(dir);
    expect(broker.describeTopic('t')!.configs).toEqual({ 'message.timestamp.type': 'LogAppendTime' });
    await broker.stop();
  });

  it('grows and deletes topics, for good', async () => {
    const dir = newDir();
    let broker = await startBroker(dir);
    await broker.createTopic('t', 1, {});
    await broker.createPartitions('t', 4);
    expect(broker.partition('t', 3)).toBeDefined();
    await broker.partition('t', 3)!.append(record('x'), 'durable');
    await broker.deleteTopic('t');
    expect(broker.partition('t', 0)).toBeUndefined();
    expect(readdirSync(dir).filter((f) => f.startsWith('t-'))).toEqual([]);
    await broker.stop();
    broker = await startBroker(dir);
    expect(broker.listTopics()).toEqual([]);
    await broker.createTopic('t', 2, {});
    expect(broker.partition('t', 0)!.logEndOffset).toBe(0);
    await broker.stop();
  });

  it('emits typed kernel events to plugins and observers', async () => {
    const broker = await startBroker(newDir(), { 'log.segment.bytes': '1024' });
    const seen: string[] = [];
    broker.on('topic.created', (e) => seen.push(`created ${e.topic.name}`));
    broker.on('batch.appended', (e) => seen.push(`appended ${e.topic}-${e.partition} ${e.baseOffset}..${e.lastOffset}`));
    const off = broker.on('segment.rolled', (e) => seen.push(`rolled ${e.baseOffset}`));
    await broker.createTopic('ev', 1, {});
    await broker.partition('ev', 0)!.append(record('x'.repeat(900)), 'durable');
    await broker.partition('ev', 0)!.append(record('y'.repeat(900)), 'durable');
    off();
    await broker.partition('ev', 0)!.append(record('z'.repeat(900)), 'durable');
    expect(seen).toEqual(['created ev', 'appended ev-0 0..0', 'rolled 1', 'appended ev-0 1..1', 'appended ev-0 2..2']);
    await broker.stop();
  });
});

describe('plugins', () => {
  const auditPlugin = join(import.meta.dirname, '../../examples/audit-plugin/dist/index.js');

  it('loads a plugin by path, gives it its config keys, and stops it', async () => {
    const dir = newDir();
    const auditFile = join(dir, 'audit.jsonl');
    const broker = await startBroker(dir, { plugins: auditPlugin, 'audit.file': auditFile });
    expect(broker.plugins.loaded.map((p) => p.plugin.manifest.id)).toEqual(['audit']);
    await broker.createTopic('seen', 2, {});
    await broker.alterTopicConfigs('seen', { 'retention.ms': '60000' });
    await broker.deleteTopic('seen');
    await broker.stop();
    const lines = (await import('node:fs')).readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l).event);
    expect(lines).toEqual(['topic.created', 'topic.config.changed', 'topic.deleted']);
  });

  it('disables a plugin that fails to start, and keeps the broker up', async () => {
    const dir = newDir();
    const config = loadBrokerConfig({ 'log.dirs': dir, plugins: `${auditPlugin},./does-not-exist.js` }, { warn: () => undefined });
    const log = captureLogger();
    const broker = await Broker.start(config, 'c', log, new ManualClock());
    expect(broker.plugins.loaded).toEqual([]);
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.fields?.['plugin'])).toEqual([auditPlugin, './does-not-exist.js']);
    await broker.createTopic('still-works', 1, {});
    await broker.stop();
  });

  it('refuses to start when a required plugin fails', async () => {
    const dir = newDir();
    const file = join(dir, 'required.mjs');
    (await import('node:fs')).writeFileSync(file,
      "export default { manifest: { id: 'req', version: '1.0.0', required: true }, start() { throw new Error('no licence'); } };\n");
    await expect(startBroker(dir, { plugins: file })).rejects.toThrow(/required plugin req failed to start: no licence/);
  });

  it('tells plugins to serve once every plugin started; a failing serve disables its plugin, or fails a required one', async () => {
    const dir = newDir();
    const { writeFileSync } = await import('node:fs');
    const plugin = (id: string, serve: string, required = false): string => {
      const file = join(dir, `${id}.mjs`);
      writeFileSync(file, `export default { manifest: { id: '${id}', version: '1.0.0', required: ${required} },
        start() { (globalThis.sluiceOrder ??= []).push('start ${id}'); },
        serve() { globalThis.sluiceOrder.push('serve ${id}'); ${serve} },
        stop() { globalThis.sluiceOrder.push('stop ${id}'); } };\n`);
      return file;
    };
    const order = (): string[] => (globalThis as { sluiceOrder?: string[] }).sluiceOrder ?? [];
    const log = captureLogger();
    const config = loadBrokerConfig({ 'log.dirs': dir, plugins: `${plugin('a', '')},${plugin('b', "throw new Error('port taken');")}` },
      { warn: () => undefined });
    const broker = await Broker.start(config, 'c', log, new ManualClock());
    expect(order()).toEqual(['start a', 'start b', 'serve a', 'serve b', 'stop b']);
    expect(broker.plugins.loaded.map((p) => p.plugin.manifest.id)).toEqual(['a']);
    expect(log.lines.some((l) => l.level === 'error' && l.fields?.['plugin'] === 'b' && /port taken/.test(String(l.fields?.['error'])))).toBe(true);
    await broker.stop();
    order().length = 0;
    await expect(startBroker(dir, { plugins: plugin('c', "throw new Error('port taken');", true) }))
      .rejects.toThrow(/required plugin c failed to start serving: port taken/);
    expect(order()).toEqual(['start c', 'serve c', 'stop c']);
  });

  it('gives a capability to one provider: a second plugin providing it is disabled, and the first one is used', async () => {
    const dir = newDir();
    const { writeFileSync } = await import('node:fs');
    const plugin = (id: string): string => {
      const file = join(dir, `${id}.mjs`);
      writeFileSync(file, `export default { manifest: { id: '${id}', version: '1.0.0' }, start(ctx) {
        ctx.provide('cluster.transport', { owner: '${id}', call: () => Promise.reject(new Error('unused')) });
      } };\n`);
      return file;
    };
    const log = captureLogger();
    const config = loadBrokerConfig({ 'log.dirs': dir, plugins: `${plugin('first')},${plugin('second')}` }, { warn: () => undefined });
    const broker = await Broker.start(config, 'c', log, new ManualClock());
    expect(broker.plugins.loaded.map((p) => p.plugin.manifest.id)).toEqual(['first']);
    expect((broker.plugins.provider('cluster.transport') as unknown as { owner: string }).owner).toBe('first');
    expect(log.lines.some((l) => l.level === 'error' && /already provided by plugin first/.test(String(l.fields?.['error'])))).toBe(true);
    await broker.stop();
    expect(broker.plugins.provider('cluster.transport')).toBeUndefined();
  });
});

describe('topic configs applied by the kernel', () => {
  it('recompresses to the topic compression.type and refuses acks=all above the in-sync replicas', async () => {
    const broker = await startBroker(newDir());
    await broker.createTopic('gz', 1, { 'compression.type': 'gzip' });
    await broker.partition('gz', 0)!.append(record('squeeze me'.repeat(20)), 'durable');
    const stored = firstBatch(broker.partition('gz', 0)!.read(asOffset(0), 1 << 20, 'read_uncommitted').records);
    expect(rb.batchCompression(stored, 0)).toBe(1);
    expect(rb.batchCrcValid(stored, 0, rb.batchSize(stored, 0))).toBe(true);

    await broker.createTopic('isr', 1, { 'min.insync.replicas': '2' });
    await expect(broker.partition('isr', 0)!.append(record('x'), 'durable')).rejects.toMatchObject({ code: 19 });
    await expect(broker.partition('isr', 0)!.append(record('x'), 'leader')).resolves.toMatchObject({ baseOffset: 0 });
    await broker.stop();
  });

  it('compacts cleanup.policy=compact topics in the background pass', async () => {
    const broker = await startBroker(newDir());
    await broker.createTopic('state', 1, { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01' });
    const p = broker.partition('state', 0)!;
    for (let i = 0; i < 60; i++) {
      await p.append(buildBatch([{ key: Buffer.from(`k${i % 3}`), value: Buffer.from(`v${i}`.padEnd(100, '.')) }]), 'durable');
    }
    const before = p.sizeBytes;
    expect(await broker.logs.cleanLogs()).toBe(1);
    expect(p.sizeBytes).toBeLessThan(before / 2);
    expect(p.logEndOffset).toBe(60);
    await broker.stop();
  });
});
