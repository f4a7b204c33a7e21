/**
 * The broker process: the kernel (logs, metadata quorum, cluster node) plus the plugins
 * named in `plugins=`. It is the `Kernel` that plugins see.
 *
 * Start order: logs and the metadata quorum; then, on a sole voter (a single node), the
 * cluster node (self-election, registration, partitions opened) before the plugins, so
 * frontends start on a ready broker as before; on a node of a multi-voter cluster the
 * plugins first, because the quorum needs their `cluster.transport` to reach its peers.
 * Either way plugins are told to serve clients (`serve`: frontends open their client
 * listeners) only once the node is ready, as Kafka opens its broker listeners only after
 * the broker caught up with the metadata and was unfenced.
 * Stop order: controlled shutdown (leaderships moved while the transport still works),
 * plugins (frontends stop taking requests), replication and the controller, then logs
 * (flush, checkpoints, the clean-shutdown marker).
 */
import type { BrokerDescription, ClusterEndpoint } from '@sluice/sdk';
import type { BrokerInfo, ConfigEntry, Kernel, KernelEventHandler, KernelEventName, LogDirDescription, Logger,
  PartitionDescription, PartitionHandle, TopicConfigs, TopicDescription } from '@sluice/sdk';
import { systemClock, type Clock } from './clock.js';
import { brokerConfigTable, pluginShortName, type BrokerConfig, type Listener } from './config/broker-config.js';
import { KernelEventBus } from './events.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { LogManager } from './log/log-manager.js';
import { raftConfigOf } from './metadata/metadata-log.js';
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
    clock: Clock,
  ) {
    this.hooks = new HookDriver(log, events);
    this.plugins = new PluginHost(log, this.hooks);
    this.node = new ClusterNode({
      config, clusterId, logs, events, clock, log, transport: () => this.plugins.provider('cluster.transport'),
      advertisedListeners: brokerInfo(config, clusterId).advertisedListeners,
    });
  }

  /** This node's part in the cluster (quorum, controller, replication). */
  readonly node: ClusterNode;

  readonly plugins: PluginHost;
  /** Plugins' hook handlers; their order is fixed once every plugin has started. */
  readonly hooks: HookDriver;

  /** `cwd`: where plugin packages are looked up first (see resolvePluginSpecifier). */
  static async start(config: BrokerConfig, clusterId: string, log: Logger, clock: Clock = systemClock, cwd = process.cwd()): Promise<Broker> {
    const events = new KernelEventBus(log);
    // The transport is looked up per call: it belongs to a plugin that starts later.
    let broker: Broker | undefined;
    const logs = LogManager.open({
      metadataLogDir: config.metadataLogDir,
      quorum: {
        nodeId: config.nodeId, voters: config.quorumVoters, clusterId,
        controller: config.processRoles.includes('controller'),
        ...(config.controllerListenerNames[0] !== undefined ? { listenerName: config.controllerListenerNames[0] } : {}),
        transport: () => broker?.plugins.provider('cluster.transport'),
        raft: raftConfigOf(config), requestTimeoutMs: config.quorumRequestTimeoutMs,
        snapshots: { maxRecordBytes: config.metadataSnapshotMaxRecordBytes, intervalMs: config.metadataSnapshotIntervalMs },
      },
      logDirs: config.logDirs, brokerProps: config.props, nodeId: config.nodeId, clock, log, events,
      retentionCheckIntervalMs: config.retentionCheckIntervalMs,
      flushSchedulerIntervalMs: config.flushSchedulerIntervalMs,
      flushOffsetCheckpointIntervalMs: config.flushOffsetCheckpointIntervalMs,
      producerIdExpirationMs: config.producerIdExpirationMs,
      producerIdExpirationCheckIntervalMs: config.producerIdExpirationCheckIntervalMs,
      cleanerEnable: config.logCleanerEnable, cleanerKeyMapBytesMax: config.dedupeBufferSizeBytes,
      cleanerBackoffMs: config.logCleanerBackoffMs,
    });
    broker = new Broker(config, clusterId, logs, events, log, clock);
    const soleVoter = logs.metadata.quorum.isSoleVoter();
    try {
      if (soleVoter) await broker.node.start();
      await broker.plugins.startAll(broker, brokerInfo(config, clusterId), config.plugins, config.pluginConfigs, pluginShortName, cwd);
      if (!soleVoter) await broker.node.start();
      await broker.plugins.serveAll();
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

  createTopic(name: string, partitions: number, configs: TopicConfigs, options?: Parameters<Kernel['createTopic']>[3]): Promise<TopicDescription> {
    return this.node.createTopic(name, partitions, configs, options);
  }

  createPartitions(name: string, totalCount: number, options?: { validateOnly?: boolean }): Promise<void> {
    return this.node.createPartitions(name, totalCount, options);
  }

  deleteTopic(name: string): Promise<void> {
    return this.node.deleteTopic(name);
  }

  alterTopicConfigs(name: string, changes: Readonly<Record<string, string | null>>, options?: { validateOnly?: boolean }): Promise<void> {
    return this.node.alterTopicConfigs(name, changes, options);
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
    return this.node.allocateProducerId();
  }

  brokers(): readonly BrokerDescription[] {
    return this.node.brokers();
  }

  controllerId(): number {
    return this.node.controllerId();
  }

  get cluster(): ClusterEndpoint {
    return this.node;
  }

  on<N extends KernelEventName>(name: N, handler: KernelEventHandler<N>): () => void {
    return this.events.on(name, handler);
  }

  /** Idempotent: plugins first, then the logs; resolves when everything is flushed. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.keepAlive);
      await this.hooks.runSequential('broker.stopping', { nodeId: this.config.nodeId, clusterId: this.clusterId });
      await this.node.stop();
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
