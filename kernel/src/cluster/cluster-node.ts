/**
 * This node's part in the cluster, wired together: the metadata quorum (already running in
 * the LogManager's MetadataLog), the controller (on nodes with the controller role), the
 * broker's registration and heartbeats, replication, and the metadata publisher that makes
 * the local logs follow the committed image. A single node runs exactly this with a quorum
 * of one and replicas of one.
 *
 * Publishing starts only once this broker is registered and unfenced: before that the
 * image may name this node leader of partitions it led before a restart, and acting on that
 * could let a replica that lost unflushed data lead followers into truncating acknowledged
 * writes. From then on every committed batch is applied to the local logs in order.
 *
 * Admin operations (topics, configs, producer ids) go to the active controller through the
 * ControllerChannel and resolve once this node's image shows their effect, so a client that
 * creates a topic on this broker can produce to it right after.
 */
import { randomBytes } from 'node:crypto';
import type {
  BrokerDescription, ClusterEndpoint, ClusterRpcName, ClusterRpcRequest, ClusterRpcResponse, ClusterTransport, ListenerAddress, Logger,
  PartitionDescription, PeerAddress, TopicConfigs, TopicDescription,
} from '@sluice/sdk';
import type { Clock } from '../clock.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { kafkaError } from '../errors.js';
import type { KernelEventBus } from '../events.js';
import type { LogManager } from '../log/log-manager.js';
import { topicIdKey } from '../metadata/metadata-image.js';
import type { MetadataRecord } from '../metadata/records.js';
import { systemRandom } from '../raft/random.js';
import { AlterPartitionBatcher } from './alter-partition-batcher.js';
import { BrokerLifecycle } from './broker-lifecycle.js';
import { controllerSettings, QuorumController } from './controller.js';
import { CONTROLLER_CALL_TIMEOUT_MS_DEFAULT, ControllerChannel } from './controller-channel.js';
import { controllerError, errorFromCode } from './controller-errors.js';
import type { MetadataQuorum } from './metadata-quorum.js';
import { ProducerIdBlocks } from './producer-id-blocks.js';
import { ReplicaManager, replicationSettings } from './replica-manager.js';
import { systemReplicaTimer } from './replica-timer.js';
import { timerScheduler } from './scheduler.js';

/** How long an admin operation waits for its effect to reach this node's image after the controller answered. */
const ADMIN_APPLY_WAIT_MS_MAX = 30_000;
/** How long a stopping broker waits for the controller to move its leaderships away. */
export const CONTROLLED_SHUTDOWN_MS_MAX = 30_000;
/** While waiting for the quorum or the controller at start, a line is logged this often. */
const START_WAIT_LOG_INTERVAL_MS = 5_000;

export interface ClusterNodeOptions {
  readonly config: BrokerConfig;
  readonly clusterId: string;
  readonly logs: LogManager;
  readonly events: KernelEventBus;
  readonly clock: Clock;
  readonly log: Logger;
  /** Read per call: the plugin providing it starts after the kernel. */
  readonly transport: () => ClusterTransport | undefined;
  /** This node's advertised listeners with their security protocols. */
  readonly advertisedListeners: readonly ListenerAddress[];
}

export class ClusterNode implements ClusterEndpoint {
  readonly quorum: MetadataQuorum;
  readonly replicas: ReplicaManager;
  private readonly controller: QuorumController | undefined;
  private readonly channel: ControllerChannel;
  private readonly lifecycle: BrokerLifecycle;
  private readonly producerIds: ProducerIdBlocks;
  private readonly isBroker: boolean;
  private publishing = false;
  private closed = false;
  /** Topic ids this node has published, with their names: a RemoveTopicRecord names only the id. */
  private readonly published = new Map<string, string>();
  private readonly appliedWaiters = new Set<() => void>();

  constructor(private readonly opts: ClusterNodeOptions) {
    const { config, logs, clock, log } = opts;
    this.quorum = logs.metadata.quorum;
    this.isBroker = config.processRoles.includes('broker');
    if (config.processRoles.includes('controller')) {
      this.controller = new QuorumController({
        ...controllerSettings(config), clusterId: opts.clusterId, quorum: this.quorum, clock, scheduler: timerScheduler,
        random: systemRandom, log,
      });
      this.controller.start();
    }
    this.channel = new ControllerChannel({
      nodeId: config.nodeId, voters: config.quorumVoters, activeControllerId: () => this.quorum.activeControllerId(),
      voterAddress: (id) => this.quorum.voterAddress(id),
      ...(this.controller !== undefined ? { localController: this.controller } : {}),
      transport: opts.transport, clock, scheduler: timerScheduler, log,
    });
    const controllerListeners = new Set(config.controllerListenerNames);
    this.lifecycle = new BrokerLifecycle({
      nodeId: config.nodeId, clusterId: opts.clusterId,
      listeners: opts.advertisedListeners.filter((l) => !controllerListeners.has(l.name)),
      rack: config.brokerRack, channel: this.channel, metadataOffset: () => this.quorum.appliedOffset(),
      heartbeatIntervalMs: config.brokerHeartbeatIntervalMs, registrationTimeoutMs: CONTROLLER_CALL_TIMEOUT_MS_DEFAULT,
      clock, scheduler: timerScheduler, log,
    });
    this.producerIds = new ProducerIdBlocks({
      brokerId: config.nodeId, brokerEpoch: () => this.lifecycle.brokerEpoch, channel: this.channel,
    });
    const alterPartitions = new AlterPartitionBatcher((request) => this.channel.call('controller.alter-partition', request));
    this.replicas = new ReplicaManager({
      nodeId: config.nodeId, brokerEpoch: () => this.lifecycle.brokerEpoch,
      openLog: (topic, _topicId, partition) => logs.openReplicaLog(topic, partition, this.replicaCount(topic, partition) > 1),
      dropLog: (topic, partition) => logs.dropReplicaLog(topic, partition),
      alterPartition: (request) => alterPartitions.submit(request),
      fetchFrom: (leaderId, request, timeoutMs) => this.call(leaderId, 'replica.fetch', request, timeoutMs),
      events: opts.events, clock, timer: systemReplicaTimer, settings: replicationSettings(config), logger: log,
    });
    this.quorum.onCommitted((records) => this.onCommitted(records));
  }

  /**
   * Resolves once the metadata is caught up and this broker is registered and unfenced,
   * with every partition it replicates opened in its role. Waits as long as it takes (a
   * cluster whose quorum is not up yet): it logs while it waits.
   */
  async start(): Promise<void> {
    await this.waitLogging(this.quorum.whenCaughtUp(), 'waiting for the metadata quorum');
    if (!this.isBroker) return;
    this.lifecycle.start();
    await this.waitLogging(this.lifecycle.whenUnfenced(), 'waiting for the controller to unfence this broker');
    this.publishing = true;
    for (const topic of this.quorum.image.topicsByName.values()) this.publishTopic(topic.name, false);
    this.opts.logs.loaded();
  }

  // --- Kernel surface --------------------------------------------------------------

  handle<K extends ClusterRpcName>(rpc: K, request: ClusterRpcRequest<K>, signal?: AbortSignal): Promise<ClusterRpcResponse<K>> {
    if (rpc.startsWith('raft.')) return this.quorum.handle(rpc as never, request as never) as Promise<ClusterRpcResponse<K>>;
    if (rpc === 'replica.fetch') {
      return this.replicas.handleReplicaFetch(request as ClusterRpcRequest<'replica.fetch'>, signal) as Promise<ClusterRpcResponse<K>>;
    }
    if (this.controller === undefined) {
      return Promise.reject(controllerError('NOT_CONTROLLER', `node ${this.opts.config.nodeId} has no controller role`));
    }
    return this.controller.handle(rpc as never, request as never) as Promise<ClusterRpcResponse<K>>;
  }

  brokers(): BrokerDescription[] {
    const known = [...this.quorum.image.brokers.values()].map((b) => ({
      nodeId: b.id, rack: b.rack, fenced: b.fenced, listeners: b.listeners,
    }));
    if (known.some((b) => b.nodeId === this.opts.config.nodeId)) return known.sort((a, b) => a.nodeId - b.nodeId);
    // Not registered yet: clients that reach this node still learn where it is.
    const self = { nodeId: this.opts.config.nodeId, rack: this.opts.config.brokerRack, fenced: true, listeners: this.lifecycleListeners() };
    return [...known, self].sort((a, b) => a.nodeId - b.nodeId);
  }

  controllerId(): number {
    return this.quorum.activeControllerId() ?? -1;
  }

  async createTopic(name: string, partitions: number, configs: TopicConfigs, options: {
    validateOnly?: boolean; replicationFactor?: number;
    assignments?: ReadonlyArray<{ readonly partitionIndex: number; readonly brokerIds: readonly number[] }>;
  } = {}): Promise<TopicDescription> {
    const validateOnly = options.validateOnly === true;
    const assignments = options.assignments ?? [];
    // As in CreateTopics: explicit assignments fix both counts, which are then sent as -1.
    const assigned = assignments.length > 0;
    const res = await this.channel.call('controller.create-topics', {
      topics: [{
        name, numPartitions: assigned ? -1 : partitions, replicationFactor: assigned ? -1 : options.replicationFactor ?? -1,
        assignments, configs,
      }],
      validateOnly,
    });
    throwFirstError(res.results);
    const count = assigned ? assignments.length : partitions;
    if (validateOnly) return { name, topicId: randomBytes(16), partitions: count, configs: { ...configs } };
    await this.untilApplied(() => this.published.has(this.topicKeyOf(name) ?? ''), `topic ${name} to appear`);
    return this.opts.logs.describeTopic(name)!;
  }

  async createPartitions(name: string, totalCount: number, options: { validateOnly?: boolean } = {}): Promise<void> {
    const res = await this.channel.call('controller.create-partitions', {
      topics: [{ name, count: totalCount }], validateOnly: options.validateOnly === true,
    });
    throwFirstError(res.results);
    if (options.validateOnly === true) return;
    await this.untilApplied(() => (this.quorum.image.topicsByName.get(name)?.partitions.size ?? 0) >= totalCount,
      `topic ${name} to have ${totalCount} partitions`);
  }

  async deleteTopic(name: string): Promise<void> {
    const res = await this.channel.call('controller.delete-topics', { names: [name] });
    throwFirstError(res.results);
    await this.untilApplied(() => !this.quorum.image.topicsByName.has(name), `topic ${name} to go`);
  }

  async alterTopicConfigs(name: string, changes: Readonly<Record<string, string | null>>, options: { validateOnly?: boolean } = {}): Promise<void> {
    const res = await this.channel.call('controller.alter-configs', {
      resources: [{ name, changes }], validateOnly: options.validateOnly === true,
    });
    throwFirstError(res.results);
    if (options.validateOnly === true) return;
    await this.untilApplied(() => {
      const configs = this.quorum.image.topicsByName.get(name)?.configs;
      return configs !== undefined && Object.entries(changes).every(([k, v]) => (v === null ? !configs.has(k) : configs.get(k) === v));
    }, `the configs of topic ${name} to change`);
  }

  allocateProducerId(): Promise<number> {
    return this.producerIds.allocate();
  }

  topicPartitions(name: string): PartitionDescription[] {
    return this.opts.logs.topicPartitions(name);
  }

  /**
   * Moves this broker's leaderships away first when other brokers can take them (controlled
   * shutdown), then the quorum's leadership when this node holds it.
   */
  async stop(): Promise<void> {
    if (this.closed) return;
    const self = this.opts.config.nodeId;
    // Brokers already shutting down cannot take leaderships; with none left (the last node of
    // a cluster being stopped, whose quorum may be gone) waiting for the controller is pointless.
    const others = [...this.quorum.image.brokers.values()].some((b) => b.id !== self && !b.fenced && !b.inControlledShutdown);
    if (this.isBroker && this.publishing && others) {
      try {
        await this.lifecycle.controlledShutdown(this.opts.clock.nowMs() + CONTROLLED_SHUTDOWN_MS_MAX);
      } catch (err) {
        this.opts.log.warn('controlled shutdown did not complete; stopping anyway', { error: (err as Error).message });
      }
    }
    // Before the plugins stop (and with them the transport the handover travels on).
    await this.quorum.resign();
    this.closed = true;
    this.lifecycle.close();
    this.replicas.close();
    this.controller?.close();
    for (const wake of this.appliedWaiters) wake();
  }

  // --- metadata publishing -----------------------------------------------------------

  private onCommitted(records: readonly MetadataRecord[]): void {
    if (!this.publishing || this.closed) {
      this.wakeApplied();
      return;
    }
    const touched = new Map<string, boolean>();
    const configsChanged = new Set<string>();
    for (const record of records) {
      switch (record.type) {
        case 'topic': {
          touched.set(topicIdKey(record.topicId), true);
          break;
        }
        case 'partition':
        case 'partition-change':
          if (!touched.has(topicIdKey(record.topicId))) touched.set(topicIdKey(record.topicId), false);
          break;
        case 'config':
          configsChanged.add(record.resourceName);
          break;
        case 'remove-topic':
          this.unpublishTopic(topicIdKey(record.topicId));
          touched.delete(topicIdKey(record.topicId));
          break;
        default:
          break;
      }
    }
    for (const [key, created] of touched) {
      const topic = this.quorum.image.topicsById.get(key);
      if (topic !== undefined) this.publishTopic(topic.name, created);
    }
    for (const name of configsChanged) {
      const topic = this.quorum.image.topicsByName.get(name);
      if (topic === undefined) continue;
      this.opts.logs.applyTopicConfigs(name);
      if (this.opts.events.has('topic.config.changed')) {
        this.opts.events.emit('topic.config.changed', { name, configs: Object.fromEntries(topic.configs) });
      }
    }
    this.wakeApplied();
  }

  private publishTopic(name: string, created: boolean): void {
    const topic = this.quorum.image.topicsByName.get(name);
    if (topic === undefined) return;
    const key = topicIdKey(topic.topicId);
    const isNew = !this.published.has(key);
    this.published.set(key, name);
    for (const [partition, state] of [...topic.partitions.entries()].sort((a, b) => a[0] - b[0])) {
      this.replicas.applyPartition({ topic: name, topicId: topic.topicId, partition, ...state }).catch((err: Error) => {
        this.opts.log.error('applying a partition state failed', { topic: name, partition, error: err.message });
      });
    }
    if (created && isNew && this.opts.events.has('topic.created')) {
      this.opts.events.emit('topic.created', { topic: this.opts.logs.describeTopic(name)! });
    }
  }

  private unpublishTopic(key: string): void {
    const name = this.published.get(key);
    if (name === undefined) return;
    this.published.delete(key);
    for (const hosted of this.replicas.hostedKeys()) {
      const [topic, partition] = hosted.split('\0');
      if (topic !== name || partition === undefined) continue;
      this.replicas.removePartition(name, Number(partition)).catch((err: Error) => {
        this.opts.log.error('removing a deleted partition failed', { topic: name, partition, error: err.message });
      });
    }
    if (this.opts.events.has('topic.deleted')) this.opts.events.emit('topic.deleted', { name, topicId: Buffer.from(key, 'hex') });
  }

  // --- helpers ------------------------------------------------------------------------

  private replicaCount(topic: string, partition: number): number {
    return this.quorum.image.topicsByName.get(topic)?.partitions.get(partition)?.replicas.length ?? 1;
  }

  private topicKeyOf(name: string): string | undefined {
    const topic = this.quorum.image.topicsByName.get(name);
    return topic === undefined ? undefined : topicIdKey(topic.topicId);
  }

  private lifecycleListeners(): readonly ListenerAddress[] {
    const controllerListeners = new Set(this.opts.config.controllerListenerNames);
    return this.opts.advertisedListeners.filter((l) => !controllerListeners.has(l.name));
  }

  /** A broker's address for broker-to-broker calls: its first registered (non-controller) listener. */
  private brokerAddress(nodeId: number): PeerAddress | undefined {
    const listener = this.quorum.image.brokers.get(nodeId)?.listeners[0];
    return listener === undefined ? undefined : { nodeId, host: listener.host === '' ? 'localhost' : listener.host, port: listener.port };
  }

  private call<K extends ClusterRpcName>(nodeId: number, rpc: K, request: ClusterRpcRequest<K>, timeoutMs: number): Promise<ClusterRpcResponse<K>> {
    const transport = this.opts.transport();
    const address = this.brokerAddress(nodeId);
    if (transport === undefined) return Promise.reject(new Error('no plugin provides cluster.transport'));
    if (address === undefined) return Promise.reject(new Error(`broker ${nodeId} is not registered`));
    return transport.call(address, rpc, request, timeoutMs);
  }

  private wakeApplied(): void {
    for (const wake of [...this.appliedWaiters]) wake();
  }

  /** Resolves when `done()` holds, re-checked after every committed batch; REQUEST_TIMED_OUT after the bound. */
  private untilApplied(done: () => boolean, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.appliedWaiters.delete(check);
        reject(kafkaError('REQUEST_TIMED_OUT', `the controller answered but this node saw no ${what} within ${ADMIN_APPLY_WAIT_MS_MAX} ms`));
      }, ADMIN_APPLY_WAIT_MS_MAX);
      const check = (): void => {
        if (!done() && !this.closed) return;
        clearTimeout(timer);
        this.appliedWaiters.delete(check);
        resolve();
      };
      this.appliedWaiters.add(check);
    });
  }

  private async waitLogging(work: Promise<void>, what: string): Promise<void> {
    const started = this.opts.clock.nowMs();
    const timer = setInterval(() => {
      this.opts.log.info(what, { waitedMs: this.opts.clock.nowMs() - started, controller: this.controllerId() });
    }, START_WAIT_LOG_INTERVAL_MS);
    timer.unref();
    try {
      await work;
    } finally {
      clearInterval(timer);
    }
  }
}

function throwFirstError(results: ReadonlyArray<{ readonly errorCode: number; readonly errorMessage: string | null }>): void {
  const failed = results.find((r) => r.errorCode !== 0);
  if (failed !== undefined) throw errorFromCode(failed.errorCode, failed.errorMessage ?? '');
}
