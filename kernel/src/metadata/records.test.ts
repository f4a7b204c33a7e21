import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetadataImage } from './metadata-image.js';
import {
  decodeMetadataRecord, encodeMetadataRecord, FENCE_BROKER_RECORD, PARTITION_CHANGE_RECORD, REGISTER_BROKER_RECORD,
  type MetadataRecord,
} from './records.js';

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const brokerId = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const epoch = fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER });
const uuid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b));
const ids = fc.array(brokerId, { maxLength: 6 });
const str = fc.string({ maxLength: 20 });

const recordArb: fc.Arbitrary<MetadataRecord> = fc.oneof(
  fc.record({ type: fc.constant('topic' as const), name: str, topicId: uuid }),
  fc.record({
    type: fc.constant('partition' as const), topicId: uuid, partitionId: brokerId, replicas: ids, isr: ids,
    leader: int32, leaderEpoch: int32, partitionEpoch: int32,
    addingReplicas: fc.array(brokerId, { minLength: 1, maxLength: 3 }), removingReplicas: fc.array(brokerId, { minLength: 1, maxLength: 3 }),
  }, { requiredKeys: ['type', 'topicId', 'partitionId', 'replicas', 'isr', 'leader', 'leaderEpoch', 'partitionEpoch'] }),
  fc.record({
    type: fc.constant('config' as const), resourceType: fc.constantFrom(2, 4), resourceName: str, name: str,
    value: fc.option(str, { nil: null }),
  }),
  fc.record({ type: fc.constant('remove-topic' as const), topicId: uuid }),
  fc.record({ type: fc.constant('producer-ids' as const), brokerId, brokerEpoch: epoch, nextProducerId: epoch }),
  fc.record({
    type: fc.constant('register-broker' as const), brokerId, incarnationId: uuid, brokerEpoch: epoch,
    endPoints: fc.array(fc.record({
      name: str, host: str, port: fc.integer({ min: 0, max: 65535 }), securityProtocol: fc.integer({ min: 0, max: 3 }),
    }), { maxLength: 3 }),
    rack: fc.option(str, { nil: null }), fenced: fc.boolean(), inControlledShutdown: fc.boolean(),
  }),
  fc.record({ type: fc.constant('unregister-broker' as const), brokerId, brokerEpoch: epoch }),
  fc.record({
    type: fc.constant('partition-change' as const), topicId: uuid, partitionId: brokerId,
    isr: ids, leader: fc.integer({ min: -1, max: 2 ** 31 - 1 }), replicas: ids, removingReplicas: ids, addingReplicas: ids,
  }, { requiredKeys: ['type', 'topicId', 'partitionId'] }),
  fc.record({ type: fc.constant('fence-broker' as const), brokerId, brokerEpoch: epoch }),
  fc.record({ type: fc.constant('unfence-broker' as const), brokerId, brokerEpoch: epoch }),
  fc.record({
    type: fc.constant('broker-registration-change' as const), brokerId, brokerEpoch: epoch,
    fenced: fc.constantFrom(-1 as const, 0 as const, 1 as const), inControlledShutdown: fc.constantFrom(0 as const, 1 as const),
  }),
);

describe('metadata records', () => {
  it('decode(encode(r)) is r for every record type', () => {
    fc.assert(fc.property(recordArb, (r) => {
      expect(decodeMetadataRecord(encodeMetadataRecord(r))).toEqual(r);
    }), { numRuns: 2000 });
  });

  it('writes KRaft layouts: apiKey and version after the frame version, fixed fields in order', () => {
    const fence = encodeMetadataRecord({ type: 'fence-broker', brokerId: 3, brokerEpoch: 9 });
    expect([...fence]).toEqual([1, FENCE_BROKER_RECORD, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9, 0]);
    const register = encodeMetadataRecord({
      type: 'register-broker', brokerId: 1, incarnationId: Buffer.alloc(16, 7), brokerEpoch: 5,
      endPoints: [{ name: 'P', host: 'h', port: 9092, securityProtocol: 0 }], rack: null, fenced: true, inControlledShutdown: false,
    });
    expect([...register.subarray(0, 3)]).toEqual([1, REGISTER_BROKER_RECORD, 1]);
    // endpoints: count+1, name, host, port (uint16), protocol (int16), no tags; then no features, null rack, fenced, not shutting down
    expect([...register.subarray(3 + 4 + 16 + 8)]).toEqual([2, 2, 0x50, 2, 0x68, 0x23, 0x84, 0, 0, 0, 1, 0, 1, 0, 0]);
  });

  it('PartitionChangeRecord carries only the changed fields, as tags 0 (isr), 1 (leader), 2 (replicas)', () => {
    const topicId = Buffer.alloc(16, 1);
    const onlyIsr = encodeMetadataRecord({ type: 'partition-change', topicId, partitionId: 0, isr: [2] });
    expect([...onlyIsr]).toEqual([1, PARTITION_CHANGE_RECORD, 0, 0, 0, 0, 0, ...topicId, 1, 0, 5, 2, 0, 0, 0, 2]);
    expect(decodeMetadataRecord(onlyIsr)).toEqual({ type: 'partition-change', topicId, partitionId: 0, isr: [2] });
  });

  it('reads RegisterBrokerRecord v2 (with the ZK migration flag) and skips unknown tags', () => {
    const v1 = encodeMetadataRecord({
      type: 'register-broker', brokerId: 1, incarnationId: Buffer.alloc(16, 7), brokerEpoch: 5, endPoints: [],
      rack: 'r1', fenced: false, inControlledShutdown: true,
    });
    const body = v1.subarray(3);
    const v2 = Buffer.concat([Buffer.from([1, REGISTER_BROKER_RECORD, 2]), body.subarray(0, 4), Buffer.from([0]), body.subarray(4, -1),
      Buffer.from([1, 9, 2, 0xaa, 0xbb])]);
    expect(decodeMetadataRecord(v2)).toMatchObject({ brokerId: 1, brokerEpoch: 5, rack: 'r1', inControlledShutdown: true });
  });
});

describe('metadata image', () => {
  const topicId = Buffer.alloc(16, 4);
  const image = (): MetadataImage => {
    const i = new MetadataImage();
    i.apply({ type: 'topic', name: 't', topicId });
    i.apply({ type: 'partition', topicId, partitionId: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0 });
    i.apply({
      type: 'register-broker', brokerId: 1, incarnationId: Buffer.alloc(16), brokerEpoch: 10, rack: 'a', fenced: true,
      inControlledShutdown: false, endPoints: [{ name: 'PLAINTEXT', host: 'h1', port: 9092, securityProtocol: 0 }],
    });
    return i;
  };

  it('a partition change keeps what it does not name; a leader bumps the leader epoch, any change the partition epoch', () => {
    const i = image();
    i.apply({ type: 'partition-change', topicId, partitionId: 0, isr: [1, 2] });
    expect(i.topicsByName.get('t')!.partitions.get(0)).toEqual({ replicas: [1, 2, 3], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 1 });
    i.apply({ type: 'partition-change', topicId, partitionId: 0, leader: 2, isr: [2] });
    expect(i.topicsByName.get('t')!.partitions.get(0)).toEqual({ replicas: [1, 2, 3], isr: [2], leader: 2, leaderEpoch: 1, partitionEpoch: 2 });
    expect(() => i.apply({ type: 'partition-change', topicId, partitionId: 9, isr: [] })).toThrow(/unknown partition/);
  });

  it('brokers: registration, unfence, controlled shutdown, fence; records of an older epoch are ignored', () => {
    const i = image();
    expect(i.brokers.get(1)).toMatchObject({
      epoch: 10, rack: 'a', fenced: true, listeners: [{ name: 'PLAINTEXT', host: 'h1', port: 9092, securityProtocol: 'PLAINTEXT' }],
    });
    i.apply({ type: 'unfence-broker', brokerId: 1, brokerEpoch: 10 });
    expect(i.brokers.get(1)!.fenced).toBe(false);
    i.apply({ type: 'broker-registration-change', brokerId: 1, brokerEpoch: 10, fenced: 0, inControlledShutdown: 1 });
    expect(i.brokers.get(1)).toMatchObject({ fenced: false, inControlledShutdown: true });
    i.apply({ type: 'fence-broker', brokerId: 1, brokerEpoch: 9 });
    expect(i.brokers.get(1)!.fenced).toBe(false);
    i.apply({ type: 'fence-broker', brokerId: 1, brokerEpoch: 10 });
    expect(i.brokers.get(1)!.fenced).toBe(true);
    i.apply({ type: 'unregister-broker', brokerId: 1, brokerEpoch: 10 });
    expect(i.brokers.has(1)).toBe(false);
  });
});
