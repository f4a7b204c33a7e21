import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ANONYMOUS, SDK_VERSION } from '@sluice/sdk';
import { Broker } from '../broker.js';
import { ManualClock } from '../clock.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { buildBatch } from '../log/batch-builder.js';
import { captureLogger, tempDir } from '../../test/fixtures.js';
import { checkManifest } from './manifest.js';

const REPO = resolve(import.meta.dirname, '../../..');
const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function newDir(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

const schema = { type: 'object', properties: { port: { type: 'integer', minimum: 1 }, mode: { enum: ['a', 'b'] } }, required: ['mode'],
  additionalProperties: false };

describe('plugin manifests', () => {
  it('the SDK version constant is the package version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'sdk/package.json'), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });

  it('checks the SDK range, dependencies and config against the schema', () => {
    const none = new Set<string>();
    expect(() => checkManifest({ id: 'p', version: '1.0.0', sdk: `^${SDK_VERSION}` }, none, {})).not.toThrow();
    expect(() => checkManifest({ id: 'p', version: '1.0.0', sdk: '>=99' }, none, {})).toThrow(/needs @sluice\/sdk >=99, this broker has/);
    expect(() => checkManifest({ id: 'p', version: '1.0.0', sdk: 'not a range!' }, none, {})).toThrow(/not a semver range/);
    expect(() => checkManifest({ id: 'p', version: '1.0.0', dependsOn: ['kafka'] }, none, {})).toThrow(/depends on plugin "kafka"/);
    expect(() => checkManifest({ id: 'p', version: '1.0.0', dependsOn: ['kafka'] }, new Set(['kafka']), {})).not.toThrow();
    const withSchema = { id: 'p', version: '1.0.0', configSchema: schema };
    expect(() => checkManifest(withSchema, none, { mode: 'a', port: '9644' })).not.toThrow();
    expect(() => checkManifest(withSchema, none, { mode: 'c', port: 'x', extra: '1' }))
      .toThrow(/must NOT have additional properties \(extra\); config port must be integer; config mode must be equal to one of the allowed values/);
  });

  it('a plugin whose manifest fails is disabled with the reasons logged; a required one stops the start', async () => {
    const dir = newDir();
    const file = join(dir, 'strict.mjs');
    writeFileSync(file, `export default { manifest: { id: 'strict', version: '1.0.0', configSchema: ${JSON.stringify(schema)} }, start() {} };`);
    const log = captureLogger();
    const config = loadBrokerConfig({ 'log.dirs': join(dir, 'data'), plugins: file, 'strict.port': '0' }, { warn: () => undefined });
    const broker = await Broker.start(config, 'c', log, new ManualClock());
    expect(broker.plugins.loaded).toEqual([]);
    expect(log.lines.find((l) => l.level === 'error')?.fields?.['error']).toMatch(/config must have required property 'mode'; config port must be >= 1/);
    await broker.stop();
  });
});

describe('a plugin installed from an npm pack tarball', () => {
  it('is packed, installed into a project outside the repository without the network, and loaded by its package name', async () => {
    const root = newDir();
    const packDir = join(root, 'pack');
    const project = join(root, 'project');
    mkdirSync(packDir);
    mkdirSync(project);
    execFileSync('npm', ['pack', join(REPO, 'kernel/test/fixtures/packaged-plugin'), '--pack-destination', packDir, '--silent'], { stdio: 'pipe' });
    const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'deployment', private: true }));
    execFileSync('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--silent'], { cwd: project, stdio: 'pipe' });

    const config = loadBrokerConfig({
      'log.dirs': join(root, 'data'), plugins: '@sluice-example/topic-policy', 'topic-policy.pattern': '^[a-z.]+$',
    }, { warn: () => undefined });
    const broker = await Broker.start(config, 'c', captureLogger(), new ManualClock(), project);
    try {
      const [loaded] = broker.plugins.loaded;
      expect(loaded?.plugin.manifest.id).toBe('topic-policy');
      expect(loaded?.from).toContain(`${realpathSync(project)}/node_modules/@sluice-example/topic-policy/`);
      const connection = { id: 1, protocol: 'kafka', listener: 'PLAINTEXT', remoteAddress: '', remotePort: 0 };
      const run = (topic: string) => broker.hooks.runWaterfall('produce.intercept', broker.hooks.recordBatches(buildBatch([{ key: null, value: null }])),
        { connection, principal: ANONYMOUS, topic, partition: 0, clientId: null, acks: 'leader' });
      expect(run('orders.eu')).toMatchObject({ outcome: 'accept' });
      expect(run('Orders')).toMatchObject({ outcome: 'reject', errorCode: 44, reason: 'topic Orders does not match /^[a-z.]+$/' });
    } finally {
      await broker.stop();
    }

    const info = spawnSync(process.execPath, [join(REPO, 'kernel/dist/cli/main.js'), 'plugins', 'info', 'topic-policy',
      '--override', 'plugins=@sluice-example/topic-policy', '--override', 'topic-policy.pattern=^x'], { cwd: project, encoding: 'utf8' });
    expect(info.status).toBe(0);
    expect(info.stdout).toContain(`from:        ${realpathSync(project)}/node_modules/@sluice-example/topic-policy/index.js`);
    expect(info.stdout).toContain(`sdk:         ^0.1.0 (compatible with ${SDK_VERSION})`);
    expect(info.stdout).toContain('topic-policy.pattern = "^x"  [string]  A regular expression topic names must match');
    expect(info.stdout).toContain('config is valid');
    const list = spawnSync(process.execPath, [join(REPO, 'kernel/dist/cli/main.js'), 'plugins', 'list', '--override', 'plugins=kafka,@sluice-example/topic-policy,./missing.js'],
      { cwd: project, encoding: 'utf8' });
    expect(list.status).toBe(1);
    expect(list.stdout).toMatch(/^kafka +kafka@0\.1\.0 required +\S+plugins\/kafka\/dist\/index\.js$/m);
    expect(list.stdout).toMatch(/^topic-policy +topic-policy@1\.0\.0 +\S+node_modules\/@sluice-example\/topic-policy\/index\.js$/m);
    expect(list.stdout).toMatch(/^missing +cannot load: /m);
  });
});
