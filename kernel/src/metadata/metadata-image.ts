/**
 * The metadata image: the state that replaying the metadata log produces (topics, their
 * partitions and config overrides). Every change goes through a record first, so the
 * image on any node is a pure function of the log.
 */
import { RESOURCE_TOPIC, type MetadataRecord } from './records.js';

export interface PartitionState {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: Uint8Array;
  readonly partitions: Map<number, PartitionState>;
  readonly configs: Map<string, string>;
}

export function topicIdKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

export class MetadataImage {
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
}
