/**
 * The controller RPCs on the wire: BrokerRegistration v4, BrokerHeartbeat v1,
 * AlterPartition v3 (the new ISR with broker epochs -1: the controller checks the sender's
 * epoch, not each member's), AllocateProducerIds v0, ElectLeaders v2,
 * AlterPartitionReassignments v0, ListPartitionReassignments v0, and the admin requests
 * a broker forwards to the active controller as the Kafka requests a client would send:
 * CreateTopics v7, DeleteTopics v6 (by name), CreatePartitions v3 (the controller places
 * the new replicas) and IncrementalAlterConfigs v1 on TOPIC resources (a null value is a
 * DELETE, any other a SET).
 *
 * Forwarded admin requests are told apart from clients' by the sender's client id
 * (CLUSTER_CLIENT_ID, see dispatcher.ts): there is no authentication yet that could tell
 * a node from a client.
 */
import type { ListenerAddress, TopicResults } from '@sluice/sdk';
import { ApiKey, ZERO_UUID } from '../protocol/index.js';
import type { RpcWire } from './rpc-wire.js';
import { firstError, invalidRequest } from './wire-errors.js';

/** The client id of every request the cluster transport sends. */
export const CLUSTER_CLIENT_ID = 'sluice-cluster';

/** Kafka's SecurityProtocol ids, as BrokerRegistration carries them. */
const SECURITY_PROTOCOL_IDS: ReadonlyMap<string, number> = new Map([['PLAINTEXT', 0], ['SSL', 1], ['SASL_PLAINTEXT', 2], ['SASL_SSL', 3]]);
const SECURITY_PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([...SECURITY_PROTOCOL_IDS].map(([name, id]) => [id, name]));
const RESOURCE_TYPE_TOPIC = 2;
const CONFIG_OPERATION_SET = 0;
const CONFIG_OPERATION_DELETE = 1;

function securityProtocolId(name: string): number {
  const id = SECURITY_PROTOCOL_IDS.get(name);
  if (id === undefined) throw new RangeError(`listener security protocol ${name} has no Kafka id`);
  return id;
}

const registerBroker: RpcWire<'controller.register-broker', typeof ApiKey.BrokerRegistration> = {
  apiKey: ApiKey.BrokerRegistration,
  version: 4,
  requestToWire: (r) => ({
    brokerId: r.brokerId, clusterId: r.clusterId, incarnationId: r.incarnationId,
    listeners: r.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port, securityProtocol: securityProtocolId(l.securityProtocol) })),
    features: [], rack: r.rack, isMigratingZkBroker: false, logDirs: [], previousBrokerEpoch: r.previousBrokerEpoch,
  }),
  responseFromWire: (res) => ({ errorCode: res.errorCode, brokerEpoch: res.brokerEpoch }),
  requestFromWire: (req) => ({
    brokerId: req.brokerId, clusterId: req.clusterId, incarnationId: req.incarnationId,
    listeners: req.listeners.map((l): ListenerAddress => ({
      name: l.name, host: l.host, port: l.port, securityProtocol: SECURITY_PROTOCOL_NAMES.get(l.securityProtocol) ?? `UNKNOWN(${l.securityProtocol})`,
    })),
    rack: req.rack, previousBrokerEpoch: req.previousBrokerEpoch,
  }),
  responseToWire: (res) => ({ throttleTimeMs: 0, errorCode: res.errorCode, brokerEpoch: res.brokerEpoch }),
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, brokerEpoch: -1 }),
};

const heartbeat: RpcWire<'controller.heartbeat', typeof ApiKey.BrokerHeartbeat> = {
  apiKey: ApiKey.BrokerHeartbeat,
  version: 1,
  requestToWire: (r) => ({
    brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, currentMetadataOffset: r.currentMetadataOffset,
    wantFence: r.wantFence, wantShutDown: r.wantShutDown, offlineLogDirs: [],
  }),
  responseFromWire: (res) => ({ errorCode: res.errorCode, isCaughtUp: res.isCaughtUp, isFenced: res.isFenced, shouldShutDown: res.shouldShutDown }),
  requestFromWire: (req) => ({
    brokerId: req.brokerId, brokerEpoch: req.brokerEpoch, currentMetadataOffset: req.currentMetadataOffset,
    wantFence: req.wantFence, wantShutDown: req.wantShutDown,
  }),
  responseToWire: (res) => ({
    throttleTimeMs: 0, errorCode: res.errorCode, isCaughtUp: res.isCaughtUp, isFenced: res.isFenced, shouldShutDown: res.shouldShutDown,
  }),
  // A broker that cannot be answered stays fenced in its own view until it hears otherwise.
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, isCaughtUp: false, isFenced: true, shouldShutDown: false }),
};

const alterPartition: RpcWire<'controller.alter-partition', typeof ApiKey.AlterPartition> = {
  apiKey: ApiKey.AlterPartition,
  version: 3,
  requestToWire: (r) => ({
    brokerId: r.brokerId, brokerEpoch: r.brokerEpoch,
    topics: r.topics.map((t) => ({
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex, leaderEpoch: p.leaderEpoch,
        newIsrWithEpochs: p.newIsr.map((brokerId, i) => ({ brokerId, brokerEpoch: p.newIsrBrokerEpochs?.[i] ?? -1 })),
        leaderRecoveryState: 0, partitionEpoch: p.partitionEpoch,
      })),
    })),
  }),
  responseFromWire: (res) => ({
    errorCode: res.errorCode,
    topics: res.topics.map((t) => ({
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex, errorCode: firstError(res.errorCode, p.errorCode), leaderId: p.leaderId, leaderEpoch: p.leaderEpoch,
        isr: p.isr, partitionEpoch: p.partitionEpoch,
      })),
    })),
  }),
  requestFromWire: (req, version) => ({
    brokerId: req.brokerId, brokerEpoch: req.brokerEpoch,
    topics: req.topics.map((t) => ({
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
        newIsr: version >= 3 ? p.newIsrWithEpochs.map((b) => b.brokerId) : p.newIsr,
        ...(version >= 3 ? { newIsrBrokerEpochs: p.newIsrWithEpochs.map((b) => b.brokerEpoch) } : {}),
      })),
    })),
  }),
  responseToWire: (res) => ({
    throttleTimeMs: 0, errorCode: res.errorCode,
    topics: res.topics.map((t) => ({
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex, errorCode: p.errorCode, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, isr: [...p.isr],
        leaderRecoveryState: 0, partitionEpoch: p.partitionEpoch,
      })),
    })),
  }),
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, topics: [] }),
};

const allocateProducerIds: RpcWire<'controller.allocate-producer-ids', typeof ApiKey.AllocateProducerIds> = {
  apiKey: ApiKey.AllocateProducerIds,
  version: 0,
  requestToWire: (r) => ({ brokerId: r.brokerId, brokerEpoch: r.brokerEpoch }),
  responseFromWire: (res) => ({ errorCode: res.errorCode, producerIdStart: res.producerIdStart, producerIdLen: res.producerIdLen }),
  requestFromWire: (req) => ({ brokerId: req.brokerId, brokerEpoch: req.brokerEpoch }),
  responseToWire: (res) => ({ throttleTimeMs: 0, errorCode: res.errorCode, producerIdStart: res.producerIdStart, producerIdLen: res.producerIdLen }),
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, producerIdStart: -1, producerIdLen: 0 }),
};

const electLeaders: RpcWire<'controller.elect-leaders', typeof ApiKey.ElectLeaders> = {
  apiKey: ApiKey.ElectLeaders,
  version: 2,
  requestToWire: (r, timeoutMs) => ({
    electionType: r.electionType,
    topicPartitions: r.topicPartitions === null ? null : r.topicPartitions.map((t) => ({ topic: t.topic, partitions: [...t.partitions] })),
    timeoutMs,
  }),
  responseFromWire: (res) => ({
    errorCode: res.errorCode,
    results: res.replicaElectionResults.map((t) => ({
      topic: t.topic,
      partitions: t.partitionResult.map((p) => ({ partition: p.partitionId, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    })),
  }),
  requestFromWire: (req) => ({ electionType: req.electionType, topicPartitions: req.topicPartitions }),
  responseToWire: (res) => ({
    throttleTimeMs: 0, errorCode: res.errorCode,
    replicaElectionResults: res.results.map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((p) => ({ partitionId: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    })),
  }),
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, replicaElectionResults: [] }),
};

const alterPartitionReassignments: RpcWire<'controller.alter-partition-reassignments', typeof ApiKey.AlterPartitionReassignments> = {
  apiKey: ApiKey.AlterPartitionReassignments,
  version: 0,
  requestToWire: (r, timeoutMs) => ({
    timeoutMs,
    topics: r.topics.map((t) => ({
      name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, replicas: p.replicas === null ? null : [...p.replicas] })),
    })),
  }),
  responseFromWire: (res) => ({
    errorCode: res.errorCode, errorMessage: res.errorMessage,
    results: res.responses.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    })),
  }),
  requestFromWire: (req) => ({
    topics: req.topics.map((t) => ({
      name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, replicas: p.replicas })),
    })),
  }),
  responseToWire: (res) => ({
    throttleTimeMs: 0, errorCode: res.errorCode, errorMessage: res.errorMessage,
    responses: res.results.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    })),
  }),
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, errorMessage: null, responses: [] }),
};

const listPartitionReassignments: RpcWire<'controller.list-partition-reassignments', typeof ApiKey.ListPartitionReassignments> = {
  apiKey: ApiKey.ListPartitionReassignments,
  version: 0,
  requestToWire: (r, timeoutMs) => ({
    timeoutMs, topics: r.topics === null ? null : r.topics.map((t) => ({ name: t.name, partitionIndexes: [...t.partitions] })),
  }),
  responseFromWire: (res) => ({
    errorCode: res.errorCode, errorMessage: res.errorMessage,
    topics: res.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionIndex, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas,
      })),
    })),
  }),
  requestFromWire: (req) => ({
    topics: req.topics === null ? null : req.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes })),
  }),
  responseToWire: (res) => ({
    throttleTimeMs: 0, errorCode: res.errorCode, errorMessage: res.errorMessage,
    topics: res.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partition, replicas: [...p.replicas], addingReplicas: [...p.addingReplicas], removingReplicas: [...p.removingReplicas],
      })),
    })),
  }),
  errorToWire: (errorCode) => ({ throttleTimeMs: 0, errorCode, errorMessage: null, topics: [] }),
};

type Results = TopicResults['results'];

const createTopics: RpcWire<'controller.create-topics', typeof ApiKey.CreateTopics> = {
  apiKey: ApiKey.CreateTopics,
  version: 7,
  requestToWire: (r, timeoutMs) => ({
    topics: r.topics.map((t) => ({
      name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor,
      assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })),
      configs: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
    })),
    timeoutMs, validateOnly: r.validateOnly,
  }),
  responseFromWire: (res) => ({
    results: res.topics.map((t) => ({ name: t.name, errorCode: t.errorCode, errorMessage: t.errorMessage })),
  }),
  requestFromWire: (req) => ({
    topics: req.topics.map((t) => {
      const configs: Record<string, string> = {};
      for (const c of t.configs) {
        if (c.value === null) throw invalidRequest(`config ${c.name} of topic ${t.name} has no value`);
        configs[c.name] = c.value;
      }
      return { name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor, assignments: t.assignments, configs };
    }),
    validateOnly: req.validateOnly,
  }),
  responseToWire: (res) => ({ throttleTimeMs: 0, topics: res.results.map(createdTopic) }),
  errorToWire: (errorCode, req) => ({
    throttleTimeMs: 0, topics: req.topics.map((t) => createdTopic({ name: t.name, errorCode, errorMessage: null })),
  }),
};

function createdTopic(r: Results[number]) {
  return {
    name: r.name, topicId: ZERO_UUID, errorCode: r.errorCode, errorMessage: r.errorMessage,
    numPartitions: -1, replicationFactor: -1, configs: null,
  };
}

const deleteTopics: RpcWire<'controller.delete-topics', typeof ApiKey.DeleteTopics> = {
  apiKey: ApiKey.DeleteTopics,
  version: 6,
  requestToWire: (r, timeoutMs) => ({ topics: r.names.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs }),
  responseFromWire: (res) => ({
    results: res.responses.map((t) => ({ name: t.name ?? '', errorCode: t.errorCode, errorMessage: t.errorMessage })),
  }),
  requestFromWire: (req, version) => ({
    names: version >= 6
      ? req.topics.map((t) => {
        if (t.name === null) throw invalidRequest('a forwarded topic deletion names its topics');
        return t.name;
      })
      : req.topicNames,
  }),
  responseToWire: (res) => ({
    throttleTimeMs: 0,
    responses: res.results.map((r) => ({ name: r.name, topicId: ZERO_UUID, errorCode: r.errorCode, errorMessage: r.errorMessage })),
  }),
  errorToWire: (errorCode, req) => ({
    throttleTimeMs: 0,
    responses: req.topics.map((t) => ({ name: t.name, topicId: t.topicId, errorCode, errorMessage: null })),
  }),
};

const createPartitions: RpcWire<'controller.create-partitions', typeof ApiKey.CreatePartitions> = {
  apiKey: ApiKey.CreatePartitions,
  version: 3,
  requestToWire: (r, timeoutMs) => ({
    topics: r.topics.map((t) => ({ name: t.name, count: t.count, assignments: null })), timeoutMs, validateOnly: r.validateOnly,
  }),
  responseFromWire: (res) => ({ results: res.results.map((t) => ({ name: t.name, errorCode: t.errorCode, errorMessage: t.errorMessage })) }),
  requestFromWire: (req) => ({ topics: req.topics.map((t) => ({ name: t.name, count: t.count })), validateOnly: req.validateOnly }),
  responseToWire: (res) => ({ throttleTimeMs: 0, results: res.results.map((r) => ({ ...r })) }),
  errorToWire: (errorCode, req) => ({ throttleTimeMs: 0, results: req.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) }),
};

const alterConfigs: RpcWire<'controller.alter-configs', typeof ApiKey.IncrementalAlterConfigs> = {
  apiKey: ApiKey.IncrementalAlterConfigs,
  version: 1,
  requestToWire: (r) => ({
    resources: r.resources.map((res) => ({
      resourceType: RESOURCE_TYPE_TOPIC, resourceName: res.name,
      configs: Object.entries(res.changes).map(([name, value]) => ({
        name, configOperation: value === null ? CONFIG_OPERATION_DELETE : CONFIG_OPERATION_SET, value,
      })),
    })),
    validateOnly: r.validateOnly,
  }),
  responseFromWire: (res) => ({
    results: res.responses.map((r) => ({ name: r.resourceName, errorCode: r.errorCode, errorMessage: r.errorMessage })),
  }),
  requestFromWire: (req) => ({
    resources: req.resources.map((res) => {
      if (res.resourceType !== RESOURCE_TYPE_TOPIC) throw invalidRequest(`a forwarded config change is for topics, not resource type ${res.resourceType}`);
      const changes: Record<string, string | null> = {};
      for (const c of res.configs) {
        if (c.configOperation === CONFIG_OPERATION_SET && c.value !== null) changes[c.name] = c.value;
        else if (c.configOperation === CONFIG_OPERATION_DELETE) changes[c.name] = null;
        else throw invalidRequest(`a forwarded config change sets or deletes, not operation ${c.configOperation}`);
      }
      return { name: res.resourceName, changes };
    }),
    validateOnly: req.validateOnly,
  }),
  responseToWire: (res) => ({
    throttleTimeMs: 0,
    responses: res.results.map((r) => ({ errorCode: r.errorCode, errorMessage: r.errorMessage, resourceType: RESOURCE_TYPE_TOPIC, resourceName: r.name })),
  }),
  errorToWire: (errorCode, req) => ({
    throttleTimeMs: 0,
    responses: req.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })),
  }),
};

export const controllerWires = {
  'controller.register-broker': registerBroker,
  'controller.heartbeat': heartbeat,
  'controller.alter-partition': alterPartition,
  'controller.allocate-producer-ids': allocateProducerIds,
  'controller.elect-leaders': electLeaders,
  'controller.alter-partition-reassignments': alterPartitionReassignments,
  'controller.list-partition-reassignments': listPartitionReassignments,
  'controller.create-topics': createTopics,
  'controller.delete-topics': deleteTopics,
  'controller.create-partitions': createPartitions,
  'controller.alter-configs': alterConfigs,
} as const;
