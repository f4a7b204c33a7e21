/**
 * The quorum controller (Kafka's QuorumController): runs on the active metadata-quorum
 * leader and turns the `controller.*` RPCs into metadata records. Operations run one at a
 * time, each awaiting its commit, so every check sees the image its records apply to. On
 * any other node, and when leadership is lost mid-operation, requests are answered with
 * NOT_CONTROLLER (41) so brokers retry at the new controller.
 *
 * Beside the RPCs it fences brokers whose heartbeats stop (broker.session.timeout.ms) and,
 * with auto.leader.rebalance.enable, hands leaderships back to preferred replicas every
 * leader.imbalance.check.interval.seconds.
 */
import {
  KafkaError,
  type AllocateProducerIdsRequest, type AllocateProducerIdsResponse, type AlterConfigsForward, type AlterPartitionRequest,
  type AlterPartitionReassignmentsRequest, type AlterPartitionReassignmentsResponse, type ListPartitionReassignmentsRequest,
  type ListPartitionReassignmentsResponse,
  type AlterPartitionResponse, type BrokerHeartbeatRequest, type BrokerHeartbeatResponse, type BrokerRegistrationRequest,
  type BrokerRegistrationResponse, type ClusterRpcName, type ClusterRpcRequest, type ClusterRpcResponse,
  type CreatePartitionsForward, type CreateTopicsForward, type DeleteTopicsForward, type ElectLeadersRequest,
  type ElectLeadersResponse, type Logger, type TopicResults,
} from '@sluice/sdk';
import type { Clock } from '../clock.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { isSecurityProtocol, securityProtocolId, type MetadataRecord } from '../metadata/records.js';
import type { Random } from '../raft/random.js';
import {
  controlledShutdownRecords, fenceRecords, leadsAnyPartition, leaveRecords, unfenceRecords,
} from './controller-brokers.js';
import { ControllerErrorCode } from './controller-errors.js';
import { planAlterPartition, planElectLeaders, planRebalance } from './controller-partitions.js';
import type { ControllerQuorum } from './controller-quorum.js';
import { planAlterReassignments, planCompleteReassignments, planListReassignments } from './controller-reassignments.js';
import { BrokerSessions } from './controller-sessions.js';
import {
  planAlterConfigs, planCreatePartitions, planCreateTopics, planDeleteTopics, type TopicPlan, type TopicSettings,
} from './controller-topics.js';
import type { Scheduler } from './scheduler.js';

/** Producer ids handed to a broker per AllocateProducerIds, as Kafka's controller does. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Expired sessions are looked for this many times per broker.session.timeout.ms. */
const SESSION_CHECKS_PER_TIMEOUT = 4;
const INCARNATION_ID_BYTES = 16;

export type ControllerRpcName = Extract<ClusterRpcName, `controller.${string}`>;

export interface QuorumControllerOptions extends TopicSettings {
  /** This node: a registration under its own id with a new incarnation is this process restarted. */
  readonly nodeId: number;
  readonly clusterId: string;
  readonly quorum: ControllerQuorum;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Placement start and topic ids. */
  readonly random: Random;
  readonly log: Logger;
  /** broker.session.timeout.ms */
  readonly brokerSessionTimeoutMs: number;
  /** unclean.leader.election.enable: elect a replica outside the ISR rather than leave a partition offline. */
  readonly uncleanLeaderElectionEnable: boolean;
  /** auto.leader.rebalance.enable */
  readonly autoLeaderRebalanceEnable: boolean;
  /** leader.imbalance.check.interval.seconds, in ms. */
  readonly leaderImbalanceCheckIntervalMs: number;
  /** leader.imbalance.per.broker.percentage */
  readonly leaderImbalancePerBrokerPercentage: number;
}

/** The options that come from broker properties. */
export function controllerSettings(config: BrokerConfig): Omit<QuorumControllerOptions, 'clusterId' | 'quorum' | 'clock' | 'scheduler' | 'random' | 'log'> {
  return {
    nodeId: config.nodeId,
    brokerProps: config.props,
    numPartitions: config.numPartitions,
    defaultReplicationFactor: config.defaultReplicationFactor,
    offsetsTopicReplicationFactor: config.offsetsTopicReplicationFactor,
    transactionStateLogReplicationFactor: config.transactionStateLogReplicationFactor,
    deleteTopicEnable: config.deleteTopicEnable,
    capInternalReplicationFactor: config.quorumVoters.length <= 1,
    brokerSessionTimeoutMs: config.brokerSessionTimeoutMs,
    uncleanLeaderElectionEnable: config.uncleanLeaderElectionEnable,
    autoLeaderRebalanceEnable: config.autoLeaderRebalanceEnable,
    leaderImbalanceCheckIntervalMs: config.leaderImbalanceCheckIntervalMs,
    leaderImbalancePerBrokerPercentage: config.leaderImbalancePerBrokerPercentage,
  };
}

export class QuorumController {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly sessions: BrokerSessions;
  private cancelSessionCheck: (() => void) | undefined;
  private cancelRebalance: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: QuorumControllerOptions) {
    this.sessions = new BrokerSessions(opts.brokerSessionTimeoutMs);
  }

  /**
   * Follows the quorum and starts the periodic checks. Call before the quorum starts
   * (MetadataQuorum.start), so the controller sees where each broker's registration was
   * committed; registrations it did not see (a sole voter's replay) must catch up to the
   * high watermark at activation instead.
   */
  start(): void {
    const { quorum } = this.opts;
    quorum.onCommitted((records, offset) => {
      if (!this.closed) this.sessions.observe(records, offset);
    });
    quorum.onLeadershipChange((active) => {
      if (active && !this.closed) this.activate();
    });
    if (quorum.isActiveController()) this.activate();
    this.scheduleSessionCheck();
    if (this.opts.autoLeaderRebalanceEnable) this.scheduleRebalance();
  }

  /** Stops the timers; operations in flight finish, new ones are answered NOT_CONTROLLER. */
  close(): void {
    this.closed = true;
    this.cancelSessionCheck?.();
    this.cancelRebalance?.();
  }

  /** One entry point for every `controller.*` RPC, as `Kernel.cluster.handle` receives them. */
  handle<K extends ControllerRpcName>(rpc: K, request: ClusterRpcRequest<K>): Promise<ClusterRpcResponse<K>> {
    const r = request as never;
    const handlers: { [N in ControllerRpcName]: (req: ClusterRpcRequest<N>) => Promise<ClusterRpcResponse<N>> } = {
      'controller.register-broker': (req) => this.registerBroker(req),
      'controller.heartbeat': (req) => this.heartbeat(req),
      'controller.alter-partition': (req) => this.alterPartition(req),
      'controller.allocate-producer-ids': (req) => this.allocateProducerIds(req),
      'controller.create-topics': (req) => this.createTopics(req),
      'controller.delete-topics': (req) => this.deleteTopics(req),
      'controller.create-partitions': (req) => this.createPartitions(req),
      'controller.alter-configs': (req) => this.alterConfigs(req),
      'controller.elect-leaders': (req) => this.electLeaders(req),
      'controller.alter-partition-reassignments': (req) => this.alterPartitionReassignments(req),
      'controller.list-partition-reassignments': (req) => this.listPartitionReassignments(req),
    };
    return (handlers[rpc] as (req: never) => Promise<ClusterRpcResponse<K>>)(r);
  }

  registerBroker(req: BrokerRegistrationRequest): Promise<BrokerRegistrationResponse> {
    const fail = (code: number): BrokerRegistrationResponse => ({ errorCode: code, brokerEpoch: -1 });
    return this.run(async () => {
      if (req.clusterId !== this.opts.clusterId) return fail(ControllerErrorCode.INCONSISTENT_CLUSTER_ID);
      if (!Number.isInteger(req.brokerId) || req.brokerId < 0 || req.incarnationId.length !== INCARNATION_ID_BYTES
        || req.listeners.some((l) => !isSecurityProtocol(l.securityProtocol))) {
        return fail(ControllerErrorCode.INVALID_REQUEST);
      }
      const { image } = this.opts.quorum;
      const now = this.opts.clock.nowMs();
      const existing = image.brokers.get(req.brokerId);
      if (existing !== undefined && Buffer.from(existing.incarnationId).equals(req.incarnationId)) {
        // The same process asking again (its response was lost): same registration.
        this.sessions.touch(req.brokerId, now);
        return { errorCode: 0, brokerEpoch: existing.epoch };
      }
      // Another live process with this id, unless it is provably the previous incarnation: this
      // very node (combined mode restarts both) or a broker naming its last epoch (KIP-966).
      const restarted = existing !== undefined && (req.brokerId === this.opts.nodeId || req.previousBrokerEpoch === existing.epoch);
      if (existing !== undefined && !existing.fenced && !restarted && this.sessions.hasValidSession(req.brokerId, now)) {
        return fail(ControllerErrorCode.DUPLICATE_BROKER_REGISTRATION);
      }
      // A fresh epoch per registration: the metadata offset the record lands at or after, like Kafka's.
      const brokerEpoch = Math.max(this.opts.quorum.highWatermark(), (existing?.epoch ?? -1) + 1);
      const records: MetadataRecord[] = existing !== undefined && !existing.fenced
        ? leaveRecords(image, req.brokerId, this.opts.uncleanLeaderElectionEnable) : [];
      records.push({
        type: 'register-broker', brokerId: req.brokerId, incarnationId: Buffer.from(req.incarnationId), brokerEpoch,
        endPoints: req.listeners.map((l) => ({
          name: l.name, host: l.host, port: l.port, securityProtocol: securityProtocolId(l.securityProtocol),
        })),
        rack: req.rack, fenced: true, inControlledShutdown: false,
      });
      await this.commit(records);
      this.sessions.touch(req.brokerId, now);
      this.opts.log.info(`broker ${req.brokerId} registered with epoch ${brokerEpoch}`, { brokerId: req.brokerId, brokerEpoch });
      return { errorCode: 0, brokerEpoch };
    }, () => fail(ControllerErrorCode.NOT_CONTROLLER));
  }

  /**
   * Keeps the broker's session alive; unfences it once it has caught up with its
   * registration; fences it when it asks; walks it through controlled shutdown.
   */
  heartbeat(req: BrokerHeartbeatRequest): Promise<BrokerHeartbeatResponse> {
    const fail = (code: number): BrokerHeartbeatResponse => ({ errorCode: code, isCaughtUp: false, isFenced: true, shouldShutDown: false });
    return this.run(async () => {
      const { image } = this.opts.quorum;
      const unclean = this.opts.uncleanLeaderElectionEnable;
      const broker = image.brokers.get(req.brokerId);
      if (broker === undefined) return fail(ControllerErrorCode.BROKER_ID_NOT_REGISTERED);
      if (broker.epoch !== req.brokerEpoch) return fail(ControllerErrorCode.STALE_BROKER_EPOCH);
      this.sessions.touch(req.brokerId, this.opts.clock.nowMs());
      const isCaughtUp = req.currentMetadataOffset >= this.sessions.registrationOffset(req.brokerId);
      if (broker.fenced) {
        if (req.wantShutDown) return { errorCode: 0, isCaughtUp, isFenced: true, shouldShutDown: true };
        if (!isCaughtUp || req.wantFence) return { errorCode: 0, isCaughtUp, isFenced: true, shouldShutDown: false };
        await this.commit(unfenceRecords(image, broker.id, broker.epoch, unclean));
        this.opts.log.info(`broker ${broker.id} unfenced`, { brokerId: broker.id });
        return { errorCode: 0, isCaughtUp, isFenced: false, shouldShutDown: false };
      }
      if (req.wantShutDown) {
        if (!broker.inControlledShutdown) {
          this.opts.log.info(`broker ${broker.id} in controlled shutdown`, { brokerId: broker.id });
          await this.commit(controlledShutdownRecords(image, broker.id, broker.epoch, unclean));
        }
        // It may stop once its leaderships have moved and it has seen them move.
        const shouldShutDown = !leadsAnyPartition(image, broker.id) && req.currentMetadataOffset >= this.sessions.shutdownOffset(broker.id);
        if (!shouldShutDown) return { errorCode: 0, isCaughtUp, isFenced: false, shouldShutDown: false };
        await this.commit(fenceRecords(image, broker.id, broker.epoch, unclean));
        return { errorCode: 0, isCaughtUp, isFenced: true, shouldShutDown: true };
      }
      if (req.wantFence) {
        await this.commit(fenceRecords(image, broker.id, broker.epoch, unclean));
        return { errorCode: 0, isCaughtUp, isFenced: true, shouldShutDown: false };
      }
      return { errorCode: 0, isCaughtUp, isFenced: false, shouldShutDown: false };
    }, () => fail(ControllerErrorCode.NOT_CONTROLLER));
  }

  alterPartition(req: AlterPartitionRequest): Promise<AlterPartitionResponse> {
    const fail = (code: number): AlterPartitionResponse => ({ errorCode: code, topics: [] });
    return this.run(async () => {
      const { image } = this.opts.quorum;
      if (image.brokers.get(req.brokerId)?.epoch !== req.brokerEpoch) return fail(ControllerErrorCode.STALE_BROKER_EPOCH);
      const { records, response } = planAlterPartition(image, req);
      await this.commit(records);
      // An ISR that grew may hold every replica a reassignment adds: that reassignment completes.
      const changed = response.topics.flatMap((t) => t.partitions.filter((p) => p.errorCode === 0)
        .map((p) => ({ topicId: t.topicId, partitionId: p.partitionIndex })));
      await this.commit(planCompleteReassignments(this.opts.quorum.image, changed));
      return response;
    }, () => fail(ControllerErrorCode.NOT_CONTROLLER));
  }

  allocateProducerIds(req: AllocateProducerIdsRequest): Promise<AllocateProducerIdsResponse> {
    const fail = (code: number): AllocateProducerIdsResponse => ({ errorCode: code, producerIdStart: -1, producerIdLen: 0 });
    return this.run(async () => {
      const { image } = this.opts.quorum;
      const broker = image.brokers.get(req.brokerId);
      if (broker === undefined) return fail(ControllerErrorCode.BROKER_ID_NOT_REGISTERED);
      if (broker.epoch !== req.brokerEpoch) return fail(ControllerErrorCode.STALE_BROKER_EPOCH);
      const start = image.nextProducerId;
      await this.commit([{
        type: 'producer-ids', brokerId: req.brokerId, brokerEpoch: req.brokerEpoch, nextProducerId: start + PRODUCER_ID_BLOCK_SIZE,
      }]);
      return { errorCode: 0, producerIdStart: start, producerIdLen: PRODUCER_ID_BLOCK_SIZE };
    }, () => fail(ControllerErrorCode.NOT_CONTROLLER));
  }

  createTopics(req: CreateTopicsForward): Promise<TopicResults> {
    return this.runTopics(req.topics.map((t) => t.name),
      () => planCreateTopics(this.opts.quorum.image, req, this.opts, this.opts.random, this.opts.log));
  }

  deleteTopics(req: DeleteTopicsForward): Promise<TopicResults> {
    return this.runTopics(req.names, () => planDeleteTopics(this.opts.quorum.image, req, this.opts));
  }

  createPartitions(req: CreatePartitionsForward): Promise<TopicResults> {
    return this.runTopics(req.topics.map((t) => t.name), () => planCreatePartitions(this.opts.quorum.image, req, this.opts.random));
  }

  alterConfigs(req: AlterConfigsForward): Promise<TopicResults> {
    return this.runTopics(req.resources.map((r) => r.name), () => planAlterConfigs(this.opts.quorum.image, req, this.opts));
  }

  electLeaders(req: ElectLeadersRequest): Promise<ElectLeadersResponse> {
    return this.run(async () => {
      const { records, response } = planElectLeaders(this.opts.quorum.image, req);
      await this.commit(records);
      return response;
    }, () => ({ errorCode: ControllerErrorCode.NOT_CONTROLLER, results: [] }));
  }

  alterPartitionReassignments(req: AlterPartitionReassignmentsRequest): Promise<AlterPartitionReassignmentsResponse> {
    return this.run(async () => {
      const { records, response } = planAlterReassignments(this.opts.quorum.image, req);
      if (records.length > 0) this.opts.log.info(`reassigning ${records.length} partition(s)`);
      await this.commit(records);
      return response;
    }, () => ({ errorCode: ControllerErrorCode.NOT_CONTROLLER, errorMessage: 'not the active controller', results: [] }));
  }

  listPartitionReassignments(req: ListPartitionReassignmentsRequest): Promise<ListPartitionReassignmentsResponse> {
    return this.run(() => Promise.resolve(planListReassignments(this.opts.quorum.image, req)),
      () => ({ errorCode: ControllerErrorCode.NOT_CONTROLLER, errorMessage: 'not the active controller', topics: [] }));
  }

  /** Fences every unfenced broker whose session has run out, one commit each. */
  fenceExpiredSessions(): Promise<void> {
    return this.run(async () => {
      const { image } = this.opts.quorum;
      const unfenced = [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.id);
      for (const id of this.sessions.expired(unfenced, this.opts.clock.nowMs())) {
        const broker = image.brokers.get(id);
        if (broker === undefined || broker.fenced) continue;
        this.opts.log.warn(`broker ${id} fenced: no heartbeat for ${this.opts.brokerSessionTimeoutMs} ms`, { brokerId: id });
        await this.commit(fenceRecords(image, id, broker.epoch, this.opts.uncleanLeaderElectionEnable));
      }
    }, () => undefined);
  }

  /** Preferred leader elections for brokers over leader.imbalance.per.broker.percentage. */
  rebalanceLeaders(): Promise<void> {
    return this.run(async () => {
      const records = planRebalance(this.opts.quorum.image, this.opts.leaderImbalancePerBrokerPercentage);
      if (records.length > 0) this.opts.log.info(`moving ${records.length} leaderships back to preferred replicas`);
      await this.commit(records);
    }, () => undefined);
  }

  private activate(): void {
    const { quorum, clock } = this.opts;
    this.sessions.activate(quorum.image.brokers.keys(), clock.nowMs(), quorum.highWatermark());
  }

  private scheduleSessionCheck(): void {
    this.cancelSessionCheck = this.opts.scheduler.schedule(this.opts.brokerSessionTimeoutMs / SESSION_CHECKS_PER_TIMEOUT, () => {
      this.fenceExpiredSessions().catch((err: unknown) => this.opts.log.error('fencing expired brokers failed', { err }));
      if (!this.closed) this.scheduleSessionCheck();
    });
  }

  private scheduleRebalance(): void {
    this.cancelRebalance = this.opts.scheduler.schedule(this.opts.leaderImbalanceCheckIntervalMs, () => {
      this.rebalanceLeaders().catch((err: unknown) => this.opts.log.error('leader rebalance failed', { err }));
      if (!this.closed) this.scheduleRebalance();
    });
  }

  private async commit(records: readonly MetadataRecord[]): Promise<void> {
    if (records.length > 0) await this.opts.quorum.commit(records);
  }

  private runTopics(names: readonly string[], plan: () => TopicPlan): Promise<TopicResults> {
    return this.run(async () => {
      const { records, results } = plan();
      await this.commit(records);
      return { results };
    }, () => ({
      results: names.map((name) => ({ name, errorCode: ControllerErrorCode.NOT_CONTROLLER, errorMessage: 'not the active controller' })),
    }));
  }

  /**
   * One operation at a time. Not the active controller, before or during the operation
   * (its commit rejected with NOT_CONTROLLER): answered with `notController`, so the
   * caller retries at the new controller. Records of an operation commit atomically.
   */
  private run<T>(work: () => Promise<T>, notController: () => T): Promise<T> {
    const task = async (): Promise<T> => {
      if (this.closed || !this.opts.quorum.isActiveController()) return notController();
      try {
        return await work();
      } catch (err) {
        if (KafkaError.is(err) && err.code === ControllerErrorCode.NOT_CONTROLLER) return notController();
        throw err;
      }
    };
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
