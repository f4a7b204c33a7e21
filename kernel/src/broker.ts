/**
 * The broker process: the kernel (logs, metadata) plus the plugins named in `plugins=`.
 * It is the `Kernel` that plugins see. Start order: logs (recovery), plugins; stop order:
 * plugins (so frontends stop taking requests), then logs (flush, checkpoints, the
 * clean-shutdown marker).
 */
import { KafkaError, type BrokerDescription, type ClusterEndpoint } from '@sluice/sdk';
import type { BrokerInfo, ConfigEntry, Kernel, KernelEventHandler, KernelEventName, LogDirDescription, Logger,
  PartitionDescription, PartitionHandle, TopicConfigs, TopicDescription } from '@sluice/sdk';
import { systemClock, type Clock } from './clock.js';
import { brokerConfigTable, pluginShortName, type BrokerConfig, type Listener } from './config/broker-config.js';
import { KernelEventBus } from './events.js';
import { LogManager } from './log/log-manager.js';
import { HookDriver } from './plugins/hook-driver.js';
import { PluginHost } from './plugins/plugin-loader.js';

export class Broker implements Kernel {
  private stopping: Promise<void> | undefined;
  /** Holds the process open until stop(), even when no plugin opened a socket. */
  private readonly keepAlive = setInterval(() => undefined, 2 ** 30);

  private constructor(
    readonly config: BrokerConfig,
    readonly clusterId: string,
    readonly logs: LogManager,
    private readonly events: KernelEventBus,
    private readonly log: Logger,
  ) {
    this.hooks = new HookDriver(log, events);
    this.plugins = new PluginHost(log, this.hooks);
  }

  readonly plugins: PluginHost;
  /** Plugins' hook handlers; their order is fixed once every plugin has started. */
  readonly hooks: HookDriver;

  /** `cwd`: where plugin packages are looked up first (see resolvePluginSpecifier). */
  static async start(config: BrokerConfig, clusterId: string, log: Logger, clock: Clock = systemClock, cwd = process.cwd()): Promise<Broker> {
    const events = new KernelEventBus(log);
    const logs = LogManager.open({
      logDirs: config.logDirs, brokerProps: config.props, nodeId: config.nodeId, clock, log, events,
      retentionCheckIntervalMs: config.retentionCheckIntervalMs,
      flushSchedulerIntervalMs: config.flushSchedulerIntervalMs,
      flushOffsetCheckpointIntervalMs: config.flushOffsetCheckpointIntervalMs,
      producerIdExpirationMs: config.producerIdExpirationMs,
      producerIdExpirationCheckIntervalMs: config.producerIdExpirationCheckIntervalMs,
      cleanerEnable: config.logCleanerEnable, cleanerKeyMapBytesMax: config.dedupeBufferSizeBytes,
      cleanerBackoffMs: config.logCleanerBackoffMs,
    });
    const broker = new Broker(config, clusterId, logs, events, log);
    try {
      await broker.plugins.startAll(broker, brokerInfo(config, clusterId), config.plugins, config.pluginConfigs, pluginShortName, cwd);
      broker.hooks.freeze();
      await broker.hooks.runSequential('broker.starting', { nodeId: config.nodeId, clusterId });
      await broker.hooks.runSequential('broker.started', { nodeId: config.nodeId, clusterId });
    } catch (err) {
      await broker.stop();
      throw err;
    }
    return broker;
  }

  get nodeId(): number {
    return this.config.nodeId;
  }

  listTopics(): readonly TopicDescription[] {
    return this.logs.listTopics();
  }

  describeTopic(name: string): TopicDescription | undefined {
    return this.logs.describeTopic(name);
  }

  createTopic(name: string, partitions: number, configs: TopicConfigs, options?: { validateOnly?: boolean }): Promise<TopicDescription> {
    return this.logs.createTopic(name, partitions, configs, options?.validateOnly === true);
  }

  createPartitions(name: string, totalCount: number, options?: { validateOnly?: boolean }): Promise<void> {
    return this.logs.createPartitions(name, totalCount, options?.validateOnly === true);
  }

  deleteTopic(name: string): Promise<void> {
    return this.logs.deleteTopic(name);
  }

  alterTopicConfigs(name: string, changes: Readonly<Record<string, string | null>>, options?: { validateOnly?: boolean }): Promise<void> {
    return this.logs.alterTopicConfigs(name, changes, options?.validateOnly === true);
  }

  partition(topic: string, partition: number): PartitionHandle | undefined {
    return this.logs.partition(topic, partition);
  }

  topicPartitions(name: string): readonly PartitionDescription[] {
    return this.logs.topicPartitions(name);
  }

  describeTopicConfigs(name: string): readonly ConfigEntry[] | undefined {
    return this.logs.describeTopicConfigs(name);
  }

  describeTopicConfigsFor(overrides: TopicConfigs): readonly ConfigEntry[] {
    return this.logs.describeTopicConfigsFor(overrides);
  }

  describeBrokerConfigs(): readonly ConfigEntry[] {
    const props = this.config.props;
    return brokerConfigTable().map((row) => {
      const own = props[row.name];
      const sensitive = row.type === 'password';
      const value = sensitive ? null : own ?? row.default;
      return {
        name: row.name, value, source: own === undefined ? 'default' : 'static-broker', readOnly: true, sensitive,
        type: row.type, doc: row.doc,
        synonyms: own === undefined ? [{ name: row.name, value: row.default, source: 'default' }]
          : [{ name: row.name, value, source: 'static-broker' }, { name: row.name, value: row.default, source: 'default' }],
      };
    });
  }

  logDirs(): readonly LogDirDescription[] {
    return this.logs.logDirs();
  }

  allocateProducerId(): Promise<number> {
    return this.logs.allocateProducerId();
  }

  brokers(): readonly BrokerDescription[] {
    const info = brokerInfo(this.config, this.clusterId);
    return [{ nodeId: this.config.nodeId, rack: null, fenced: false, listeners: info.advertisedListeners }];
  }

  controllerId(): number {
    return this.config.nodeId;
  }

  readonly cluster: ClusterEndpoint = {
    handle: (rpc) => Promise.reject(new KafkaError(35, 'UNSUPPORTED_VERSION', `cluster RPC ${rpc}: this node runs alone`)),
  };

  on<N extends KernelEventName>(name: N, handler: KernelEventHandler<N>): () => void {
    return this.events.on(name, handler);
  }

  /** Idempotent: plugins first, then the logs; resolves when everything is flushed. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.keepAlive);
      await this.hooks.runSequential('broker.stopping', { nodeId: this.config.nodeId, clusterId: this.clusterId });
      await this.plugins.stopAll();
      await this.logs.close();
      this.log.info('logs flushed and closed');
    })();
    return this.stopping;
  }
}

function brokerInfo(config: BrokerConfig, clusterId: string): BrokerInfo {
  const withProtocol = (l: Listener) => ({ ...l, securityProtocol: config.listenerSecurityProtocols[l.name] ?? l.name });
  return {
    nodeId: config.nodeId, clusterId, props: config.props,
    listeners: config.listeners.map(withProtocol), advertisedListeners: config.advertisedListeners.map(withProtocol),
  };
}
