import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-def.js';
import { brokerConfigTable, formatListener, loadBrokerConfig, pluginShortName, type BrokerConfig } from './broker-config.js';
import { TOPIC_CONFIG_DEFS, toLogConfig } from './topic-config.js';
import { raftConfigOf } from '../metadata/metadata-log.js';

function load(props: Record<string, string>): { config: BrokerConfig; warnings: string[] } {
  const warnings: string[] = [];
  const config = loadBrokerConfig(props, { warn: (msg) => warnings.push(msg) });
  return { config, warnings };
}

/** The metadata quorum's keys load without a warning. */
function loadQuiet(props: Record<string, string>): BrokerConfig {
  const { config, warnings } = load(props);
  expect(warnings).toEqual([]);
  return config;
}

function errorOf(props: Record<string, string>): ConfigError {
  try {
    load(props);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadBrokerConfig', () => {
  it('gives Kafka\'s defaults, and a single-node embedded setup', () => {
    const { config, warnings } = load({});
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      nodeId: 1,
      processRoles: ['broker', 'controller'],
      listeners: [{ name: 'PLAINTEXT', host: '', port: 9092 }],
      advertisedListeners: [{ name: 'PLAINTEXT', host: '', port: 9092 }],
      logDirs: [path.resolve('./data')],
      numPartitions: 1,
      defaultReplicationFactor: 1,
      autoCreateTopicsEnable: true,
      minInsyncReplicas: 1,
      deleteTopicEnable: true,
      retentionCheckIntervalMs: 300_000,
      flushSchedulerIntervalMs: Number.POSITIVE_INFINITY,
      flushOffsetCheckpointIntervalMs: 60_000,
      flushStartOffsetCheckpointIntervalMs: 60_000,
      logCleanerEnable: true,
      logCleanerThreads: 1,
      dedupeBufferSizeBytes: 134_217_728,
      logCleanerBackoffMs: 15_000,
      producerIdExpirationMs: 86_400_000,
      producerIdExpirationCheckIntervalMs: 600_000,
      socketRequestMaxBytes: 104_857_600,
      connectionsMaxIdleMs: 600_000,
      plugins: ['kafka'],
      pluginConfigs: {},
    });
    expect(config.defaultLogConfig.retentionMs).toBe(7 * 86_400_000);
    expect(config.listenerSecurityProtocols['PLAINTEXT']).toBe('PLAINTEXT');
  });

  it('applies given values and keeps the raw properties', () => {
    const props = {
      'node.id': '7',
      'num.partitions': '3',
      'auto.create.topics.enable': 'false',
      'log.cleaner.dedupe.buffer.size': '1048576',
      'log.segment.bytes': '1048576',
      'log.write.caching': 'true',
    };
    const { config } = load(props);
    expect(config).toMatchObject({ nodeId: 7, numPartitions: 3, autoCreateTopicsEnable: false, dedupeBufferSizeBytes: 1_048_576 });
    expect(config.props).toEqual(props);
    expect(config.defaultLogConfig).toMatchObject({ segmentBytes: 1_048_576, writeCaching: true });
  });

  it('resolves log dirs against the working directory, log.dirs winning over log.dir', () => {
    expect(load({ 'log.dir': 'one' }).config.logDirs).toEqual([path.resolve('one')]);
    expect(load({ 'log.dir': 'one', 'log.dirs': '/a, b' }).config.logDirs).toEqual(['/a', path.resolve('b')]);
    expect(errorOf({ 'log.dirs': '/a,/a/' }).key).toBe('log.dirs');
    expect(errorOf({ 'log.dirs': '' }).key).toBe('log.dirs');
  });

  it('names the key of an invalid value', () => {
    for (const [key, raw] of [
      ['node.id', 'one'],
      ['num.partitions', '0'],
      ['auto.create.topics.enable', 'yes'],
      ['process.roles', 'broker,voter'],
      ['log.retention.hours', '1.5'],
      ['log.segment.bytes', '10'],
      ['log.cleanup.policy', 'shred'],
      ['log.roll.hours', '0'],
      ['message.max.bytes', '99999999999'],
    ] as const) {
      const e = errorOf({ [key]: raw });
      expect(e.key).toBe(key);
      expect(e.message).toContain(key);
    }
  });

  it('rejects a bad synonym even when a more specific one overrides it', () => {
    expect(errorOf({ 'log.retention.ms': '1000', 'log.retention.hours': 'x' }).key).toBe('log.retention.hours');
  });

  it('has toLogConfig report a broker synonym under the broker key', () => {
    expect(() => toLogConfig({ 'log.segment.bytes': '10' }, {})).toThrow(/^log\.segment\.bytes: /);
  });

  it('warns about unknown keys and carries on', () => {
    const { config, warnings } = load({ 'zookeeper.connect': 'localhost:2181', 'num.partitions': '2' });
    expect(warnings).toEqual(['unknown config key zookeeper.connect, ignored']);
    expect(config.numPartitions).toBe(2);
  });

  it('hands keys under a listed plugin\'s name to that plugin', () => {
    const { config, warnings } = load({
      'plugins': '@sluice/plugin-mqtt, ./examples/audit-plugin/dist/index.js',
      'mqtt.port': '1883',
      'mqtt.tls.enabled': 'false',
      'audit.topic': '__audit',
      'other.key': 'x',
    });
    expect(config.plugins).toEqual(['@sluice/plugin-mqtt', './examples/audit-plugin/dist/index.js']);
    expect(config.pluginConfigs).toEqual({ mqtt: { 'port': '1883', 'tls.enabled': 'false' }, audit: { topic: '__audit' } });
    expect(warnings).toEqual(['unknown config key other.key, ignored']);
  });

  it('rejects two plugins that would share a key prefix', () => {
    expect(errorOf({ plugins: '@a/plugin-x,./x.js' }).key).toBe('plugins');
  });

  it('turns log.retention.hours into retention.ms, the more specific key winning', () => {
    expect(load({ 'log.retention.hours': '24' }).config.defaultLogConfig.retentionMs).toBe(86_400_000);
    expect(load({ 'log.retention.hours': '-1' }).config.defaultLogConfig.retentionMs).toBe(-1);
    expect(load({ 'log.retention.hours': '24', 'log.retention.minutes': '5' }).config.defaultLogConfig.retentionMs).toBe(300_000);
    expect(load({ 'log.retention.minutes': '5', 'log.retention.ms': '1000' }).config.defaultLogConfig.retentionMs).toBe(1000);
  });

  it('parses listeners and advertised listeners', () => {
    const { config } = load({
      'listeners': 'plaintext://0.0.0.0:9092,CONTROLLER://[::1]:9093',
      'advertised.listeners': 'PLAINTEXT://broker.example:19092',
      'controller.listener.names': 'CONTROLLER',
    });
    expect(config.listeners).toEqual([
      { name: 'PLAINTEXT', host: '0.0.0.0', port: 9092 },
      { name: 'CONTROLLER', host: '::1', port: 9093 },
    ]);
    expect(config.advertisedListeners).toEqual([{ name: 'PLAINTEXT', host: 'broker.example', port: 19092 }]);
    expect(config.listeners.map(formatListener)).toEqual(['PLAINTEXT://0.0.0.0:9092', 'CONTROLLER://[::1]:9093']);
    expect(config.listenerSecurityProtocols['CONTROLLER']).toBe('PLAINTEXT');
  });

  it('rejects malformed listeners, naming the key', () => {
    expect(errorOf({ listeners: 'localhost:9092' }).key).toBe('listeners');
    expect(errorOf({ listeners: 'PLAINTEXT://:65536' }).message).toMatch(/listeners: port 65536/);
    expect(errorOf({ listeners: 'PLAINTEXT://:9092,PLAINTEXT://:9093' }).key).toBe('listeners');
    expect(errorOf({ listeners: '' }).key).toBe('listeners');
    expect(errorOf({ 'advertised.listeners': 'PLAINTEXT://:x' }).key).toBe('advertised.listeners');
    expect(errorOf({ 'advertised.listeners': 'PLAINTEXT://0.0.0.0:9092' }).key).toBe('advertised.listeners');
  });

  it('requires a security protocol for every listener', () => {
    expect(errorOf({ listeners: 'INTERNAL://:9092' }).key).toBe('listener.security.protocol.map');
    expect(errorOf({ 'listener.security.protocol.map': 'PLAINTEXT:TLS' }).key).toBe('listener.security.protocol.map');
    const { config } = load({ 'listeners': 'INTERNAL://:9092', 'listener.security.protocol.map': 'INTERNAL:SSL' });
    expect(config.listenerSecurityProtocols).toEqual({ INTERNAL: 'SSL' });
  });
});

describe('pluginShortName', () => {
  it('strips scope, path, extension and plugin affixes', () => {
    expect(pluginShortName('@sluice/plugin-mqtt')).toBe('mqtt');
    expect(pluginShortName('sluice-plugin-schema')).toBe('schema');
    expect(pluginShortName('./plugins/audit.js')).toBe('audit');
    expect(pluginShortName('./examples/audit-plugin/dist/index.js')).toBe('audit');
    expect(pluginShortName('/opt/x/metrics-plugin')).toBe('metrics');
  });
});

describe('brokerConfigTable', () => {
  it('lists broker properties and every topic synonym once', () => {
    const table = brokerConfigTable();
    const names = table.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const def of TOPIC_CONFIG_DEFS) for (const [key] of def.synonyms) expect(names).toContain(key);
    expect(table.find((r) => r.name === 'log.retention.hours')).toMatchObject({ type: 'int', default: '168' });
    expect(table.find((r) => r.name === 'log.retention.ms')).toMatchObject({ type: 'long', default: null });
    expect(table.find((r) => r.name === 'node.id')).toMatchObject({ type: 'int', default: '1' });
  });
});

describe('metadata quorum configuration', () => {
  it('defaults to a sole voter with Kafka\'s timings, the metadata log in the first log dir', () => {
    const config = loadQuiet({ 'log.dirs': '/a,/b' });
    expect(config).toMatchObject({
      processRoles: ['broker', 'controller'], controllerListenerNames: ['CONTROLLER'], quorumVoters: [],
      quorumElectionTimeoutMs: 1000, quorumFetchTimeoutMs: 2000, quorumRequestTimeoutMs: 2000, quorumAppendLingerMs: 25,
      metadataLogDir: path.resolve('/a'),
    });
    expect(raftConfigOf(config)).toMatchObject({ electionTimeoutMs: 1000, fetchTimeoutMs: 2000, appendLingerMs: 25 });
    expect(loadQuiet({ 'metadata.log.dir': '/meta' }).metadataLogDir).toBe(path.resolve('/meta'));
  });

  it('parses voters as id@host:port, IPv6 in brackets', () => {
    const config = loadQuiet({ 'node.id': '2', 'controller.quorum.voters': '1@a.example:9093,2@[::1]:9094,3@10.0.0.3:9095' });
    expect(config.quorumVoters).toEqual([
      { nodeId: 1, host: 'a.example', port: 9093 }, { nodeId: 2, host: '::1', port: 9094 }, { nodeId: 3, host: '10.0.0.3', port: 9095 },
    ]);
  });

  it('refuses malformed voters and bootstrap servers alone', () => {
    expect(errorOf({ 'controller.quorum.voters': '1@host' }).message).toMatch(/not id@host:port/);
    expect(errorOf({ 'controller.quorum.voters': 'x@host:1' }).message).toMatch(/not id@host:port/);
    expect(errorOf({ 'controller.quorum.voters': '1@host:70000' }).message).toMatch(/not id@host:port/);
    expect(errorOf({ 'controller.quorum.voters': '1@a:1,1@b:2' }).message).toMatch(/listed twice/);
    expect(errorOf({ 'process.roles': 'broker' }).message).toMatch(/needs the voters/);
    expect(errorOf({ 'process.roles': 'broker', 'controller.quorum.voters': '1@a:1' }).message).toMatch(/must include controller/);
    expect(errorOf({ 'controller.quorum.bootstrap.servers': 'a:9093' }).message).toMatch(/bootstrap voter set comes from it/);
    expect(errorOf({ 'controller.quorum.bootstrap.servers': 'a', 'controller.quorum.voters': '1@a:1' }).message).toMatch(/not host:port/);
    expect(errorOf({ 'controller.quorum.election.timeout.ms': '0' }).key).toBe('controller.quorum.election.timeout.ms');
    // A broker that is not a voter may name any voters.
    expect(loadQuiet({ 'node.id': '4', 'process.roles': 'broker', 'controller.quorum.voters': '1@a:1' }).quorumVoters).toHaveLength(1);
  });

  it('accepts a controller outside the voters: it starts as an observer until added (KIP-853)', () => {
    const config = loadQuiet({ 'node.id': '4', 'process.roles': 'controller', 'controller.quorum.voters': '1@a:1,2@b:2,3@c:3' });
    expect(config.processRoles).toEqual(['controller']);
    expect(config.quorumVoters.map((v) => v.nodeId)).toEqual([1, 2, 3]);
  });
});
