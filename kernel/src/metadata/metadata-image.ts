/**
 * The metadata image: the state that replaying the metadata log produces (brokers, topics,
 * their partitions and config overrides). Every change goes through a record first, so the
 * image on any node is a pure function of the log.
 */
import type { ListenerAddress } from '@sluice/sdk';
import { RESOURCE_TOPIC, securityProtocolName, type MetadataRecord } from './records.js';

/** A registered broker (RegisterBrokerRecord and the fence/unfence/change records after it). */
export interface BrokerRegistration {
  readonly id: number;
  /** Fresh per registration: requests carrying an older epoch come from a previous incarnation. */
  readonly epoch: number;
  readonly incarnationId: Uint8Array;
  readonly listeners: readonly ListenerAddress[];
  readonly rack: string | null;
  /** Fenced brokers lead nothing and sit in no ISR. */
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface PartitionState {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /**
   * A reassignment in progress (Kafka's AddingReplicas/RemovingReplicas): `replicas` is the
   * union of the old and the target set until the adding replicas are all in the ISR.
   * Absent when none is in progress.
   */
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: Uint8Array;
  readonly partitions: Map<number, PartitionState>;
  readonly configs: Map<string, string>;
}

/** The reassignment fields of a PartitionState: left out when nothing is being added or removed. */
function reassignment(adding: readonly number[] | undefined, removing: readonly number[] | undefined): Pick<PartitionState, 'addingReplicas' | 'removingReplicas'> {
  return {
    ...(adding !== undefined && adding.length > 0 ? { addingReplicas: adding } : {}),
    ...(removing !== undefined && removing.length > 0 ? { removingReplicas: removing } : {}),
  };
}

export function topicIdKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

export class MetadataImage {
  readonly brokers = new Map<number, BrokerRegistration>();
  readonly topicsByName = new Map<string, TopicImage>();
  readonly topicsById = new Map<string, TopicImage>();
  /** First producer id not yet handed out in a block (ProducerIdsRecord). */
  nextProducerId = 0;

  apply(record: MetadataRecord): void {
    switch (record.type) {
      case 'topic': {
        const topic: TopicImage = { name: record.name, topicId: record.topicId, partitions: new Map(), configs: new Map() };
        this.topicsByName.set(record.name, topic);
        this.topicsById.set(topicIdKey(record.topicId), topic);
        break;
      }
      case 'partition': {
        const topic = this.topicsById.get(topicIdKey(record.topicId));
        if (topic === undefined) throw new Error(`PartitionRecord for unknown topic id ${topicIdKey(record.topicId)}`);
        topic.partitions.set(record.partitionId, {
          replicas: record.replicas, isr: record.isr, leader: record.leader,
          leaderEpoch: record.leaderEpoch, partitionEpoch: record.partitionEpoch,
          ...reassignment(record.addingReplicas, record.removingReplicas),
        });
        break;
      }
      case 'config': {
        if (record.resourceType !== RESOURCE_TOPIC) break;
        const topic = this.topicsByName.get(record.resourceName);
        if (topic === undefined) break;
        if (record.value === null) topic.configs.delete(record.name);
        else topic.configs.set(record.name, record.value);
        break;
      }
      case 'producer-ids':
        this.nextProducerId = Math.max(this.nextProducerId, record.nextProducerId);
        break;
      case 'register-broker':
        this.brokers.set(record.brokerId, {
          id: record.brokerId, epoch: record.brokerEpoch, incarnationId: record.incarnationId,
          listeners: record.endPoints.map((e) => ({
            name: e.name, host: e.host, port: e.port, securityProtocol: securityProtocolName(e.securityProtocol),
          })),
          rack: record.rack, fenced: record.fenced, inControlledShutdown: record.inControlledShutdown,
        });
        break;
      case 'unregister-broker':
        if (this.brokers.get(record.brokerId)?.epoch === record.brokerEpoch) this.brokers.delete(record.brokerId);
        break;
      case 'fence-broker':
        this.changeBroker(record.brokerId, record.brokerEpoch, { fenced: true });
        break;
      case 'unfence-broker':
        this.changeBroker(record.brokerId, record.brokerEpoch, { fenced: false, inControlledShutdown: false });
        break;
      case 'broker-registration-change':
        this.changeBroker(record.brokerId, record.brokerEpoch, {
          ...(record.fenced !== 0 ? { fenced: record.fenced === 1 } : {}),
          ...(record.inControlledShutdown === 1 ? { inControlledShutdown: true } : {}),
        });
        break;
      case 'partition-change': {
        const key = topicIdKey(record.topicId);
        const prev = this.topicsById.get(key)?.partitions.get(record.partitionId);
        if (prev === undefined) throw new Error(`PartitionChangeRecord for unknown partition ${key}/${record.partitionId}`);
        this.topicsById.get(key)!.partitions.set(record.partitionId, {
          replicas: record.replicas ?? prev.replicas,
          isr: record.isr ?? prev.isr,
          leader: record.leader ?? prev.leader,
          leaderEpoch: record.leader === undefined ? prev.leaderEpoch : prev.leaderEpoch + 1,
          partitionEpoch: prev.partitionEpoch + 1,
          ...reassignment(record.addingReplicas ?? prev.addingReplicas, record.removingReplicas ?? prev.removingReplicas),
        });
        break;
      }
      case 'remove-topic': {
        const key = topicIdKey(record.topicId);
        const topic = this.topicsById.get(key);
        if (topic === undefined) break;
        this.topicsById.delete(key);
        this.topicsByName.delete(topic.name);
        break;
      }
    }
  }

  /** Makes this image equal to `other` (a snapshot fetched from the leader), keeping its identity for holders. */
  replaceWith(other: MetadataImage): void {
    this.brokers.clear();
    this.topicsByName.clear();
    this.topicsById.clear();
    for (const [id, b] of other.brokers) this.brokers.set(id, b);
    for (const [key, t] of other.topicsById) this.topicsById.set(key, t);
    for (const [name, t] of other.topicsByName) this.topicsByName.set(name, t);
    this.nextProducerId = other.nextProducerId;
  }

  /** Records for another registration (an older epoch) change nothing: the broker re-registered since. */
  private changeBroker(id: number, epoch: number, change: Partial<Pick<BrokerRegistration, 'fenced' | 'inControlledShutdown'>>): void {
    const broker = this.brokers.get(id);
    if (broker === undefined || broker.epoch !== epoch) return;
    this.brokers.set(id, { ...broker, ...change });
  }
}
