import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/fixtures.js';
import { decodeSnapshot, SnapshotCorruptError } from '../raft/snapshot-format.js';
import { SnapshotFiles, snapshotFileName } from '../raft/snapshot-files.js';
import { MetadataImage, topicIdKey } from './metadata-image.js';
import { encodeMetadataSnapshot, imageOfSnapshot } from './metadata-snapshot.js';
import { RESOURCE_TOPIC, type MetadataRecord } from './records.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** An image as plain data, so that equal images compare equal whatever their insertion history or byte types. */
function normalized(image: MetadataImage): unknown {
  return {
    brokers: [...image.brokers.values()].sort((a, b) => a.id - b.id).map((b) => ({ ...b, incarnationId: hex(b.incarnationId) })),
    topicsByName: [...image.topicsByName].map(([name, t]) => [name, hex(t.topicId)]).sort(),
    topics: [...image.topicsById].sort(([a], [b]) => a.localeCompare(b)).map(([key, t]) => ({
      key, name: t.name,
      partitions: [...t.partitions].sort((a, b) => a[0] - b[0]).map(([id, p]) => ({ id, ...p, replicas: [...p.replicas], isr: [...p.isr] })),
      configs: [...t.configs].sort(),
    })),
    nextProducerId: image.nextProducerId,
  };
}

const small = fc.integer({ min: 0, max: 4 });
const ids = fc.array(small, { maxLength: 4 });
/** One step of a controller's history; selectors pick among what exists when the step is turned into a record. */
const step = fc.oneof(
  fc.record({ kind: fc.constant('broker' as const), id: small, epoch: fc.integer({ min: 0, max: 50 }), fenced: fc.boolean(), ics: fc.boolean(), rack: fc.option(fc.constantFrom('r1', 'r2')), port: fc.integer({ min: 1, max: 65535 }) }),
  fc.record({ kind: fc.constantFrom('fence' as const, 'unfence' as const, 'unregister' as const, 'change' as const), id: small, sameEpoch: fc.boolean(), fenced: fc.constantFrom(-1 as const, 0 as const, 1 as const) }),
  fc.record({ kind: fc.constant('topic' as const), name: fc.constantFrom('a', 'b', 'c.d', 'e_f') }),
  fc.record({ kind: fc.constant('partition' as const), topic: small, partition: small, replicas: ids, isr: ids, leader: fc.integer({ min: -1, max: 4 }), epoch: small }),
  fc.record({ kind: fc.constant('partition-change' as const), topic: small, partition: small, isr: fc.option(ids), leader: fc.option(fc.integer({ min: -1, max: 4 })), replicas: fc.option(ids) }),
  fc.record({ kind: fc.constant('config' as const), topic: small, key: fc.constantFrom('retention.ms', 'cleanup.policy'), value: fc.option(fc.constantFrom('1', 'compact', '')) }),
  fc.record({ kind: fc.constant('remove' as const), topic: small }),
  fc.record({ kind: fc.constant('producer-ids' as const), next: fc.integer({ min: 0, max: 1_000_000 }) }),
);

/** Valid records from steps: partitions only of existing topics, as the controller writes them. */
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function recordsOf(steps: readonly Step[]): MetadataRecord[] {
  const image = new MetadataImage();
  const records: MetadataRecord[] = [];
  let nextTopicId = 1;
  const emit = (r: MetadataRecord): void => {
    records.push(r);
    image.apply(r);
  };
  const topicAt = (i: number) => [...image.topicsById.values()][i % Math.max(1, image.topicsById.size)];
  for (const s of steps) {
    switch (s.kind) {
      case 'broker':
        emit({
          type: 'register-broker', brokerId: s.id, brokerEpoch: s.epoch, incarnationId: new Uint8Array(16).fill(s.epoch),
          endPoints: [{ name: 'PLAINTEXT', host: `h${s.id}`, port: s.port, securityProtocol: 0 }], rack: s.rack, fenced: s.fenced,
          inControlledShutdown: s.ics,
        });
        break;
      case 'fence': case 'unfence': case 'unregister': case 'change': {
        const epoch = s.sameEpoch ? (image.brokers.get(s.id)?.epoch ?? 0) : 999;
        if (s.kind === 'change') emit({ type: 'broker-registration-change', brokerId: s.id, brokerEpoch: epoch, fenced: s.fenced, inControlledShutdown: s.fenced === 1 ? 1 : 0 });
        else emit({ type: s.kind === 'fence' ? 'fence-broker' : s.kind === 'unfence' ? 'unfence-broker' : 'unregister-broker', brokerId: s.id, brokerEpoch: epoch });
        break;
      }
      case 'topic': {
        if (image.topicsByName.has(s.name)) break;
        const topicId = new Uint8Array(16);
        topicId[15] = nextTopicId++;
        emit({ type: 'topic', name: s.name, topicId });
        break;
      }
      case 'partition': {
        const t = topicAt(s.topic);
        if (t !== undefined) emit({ type: 'partition', topicId: t.topicId, partitionId: s.partition, replicas: s.replicas, isr: s.isr, leader: s.leader, leaderEpoch: s.epoch, partitionEpoch: s.epoch });
        break;
      }
      case 'partition-change': {
        const t = topicAt(s.topic);
        if (t === undefined || !t.partitions.has(s.partition)) break;
        emit({
          type: 'partition-change', topicId: t.topicId, partitionId: s.partition,
          ...(s.isr !== null ? { isr: s.isr } : {}), ...(s.leader !== null ? { leader: s.leader } : {}), ...(s.replicas !== null ? { replicas: s.replicas } : {}),
        });
        break;
      }
      case 'config': {
        const t = topicAt(s.topic);
        if (t !== undefined) emit({ type: 'config', resourceType: RESOURCE_TOPIC, resourceName: t.name, name: s.key, value: s.value });
        break;
      }
      case 'remove': {
        const t = topicAt(s.topic);
        if (t !== undefined) emit({ type: 'remove-topic', topicId: t.topicId });
        break;
      }
      case 'producer-ids':
        emit({ type: 'producer-ids', brokerId: 0, brokerEpoch: 1, nextProducerId: s.next });
        break;
    }
  }
  return records;
}

describe('metadata snapshot', () => {
  it('rebuilds the image it was taken from, for any history of records', () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const image = new MetadataImage();
      for (const r of recordsOf(steps)) image.apply(r);
      const bytes = encodeMetadataSnapshot(image, { offset: 42, epoch: 3 }, 1_700_000_000_000);
      expect(normalized(imageOfSnapshot(bytes))).toEqual(normalized(image));
    }), { numRuns: 300 });
  });

  it('is refused whole when torn or corrupt anywhere', () => {
    const image = new MetadataImage();
    for (const r of recordsOf([{ kind: 'topic', name: 'a' }, { kind: 'partition', topic: 0, partition: 0, replicas: [1, 2], isr: [1], leader: 1, epoch: 2 }])) image.apply(r);
    const bytes = encodeMetadataSnapshot(image, { offset: 7, epoch: 1 }, 0);
    expect(decodeSnapshot(bytes).length).toBeGreaterThan(0);
    fc.assert(fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.boolean(), (at, cut) => {
      const broken = Buffer.from(bytes);
      if (!cut) broken[at] = broken[at]! ^ 0x40;
      expect(() => decodeSnapshot(cut ? broken.subarray(0, at) : broken)).toThrow(SnapshotCorruptError);
    }), { numRuns: 200 });
  });

  it('on disk, a partial newest snapshot is ignored and the newest complete one wins', () => {
    const dir = tempDir('sluice-snapshots-');
    try {
      mkdirSync(dir.path, { recursive: true });
      const image = new MetadataImage();
      for (const r of recordsOf([{ kind: 'topic', name: 'a' }])) image.apply(r);
      const files = new SnapshotFiles(dir.path);
      expect(files.latest()).toBeNull();
      const older = encodeMetadataSnapshot(image, { offset: 10, epoch: 2 }, 0);
      files.write({ offset: 10, epoch: 2 }, older);
      const newer = encodeMetadataSnapshot(image, { offset: 20, epoch: 3 }, 0);
      writeFileSync(join(dir.path, snapshotFileName({ offset: 20, epoch: 3 })), newer.subarray(0, newer.length - 5));
      writeFileSync(join(dir.path, `${snapshotFileName({ offset: 30, epoch: 3 })}.tmp`), newer);

      const reopened = new SnapshotFiles(dir.path);
      expect(reopened.latest()).toEqual({ offset: 10, epoch: 2 });
      expect(reopened.ignored).toEqual([snapshotFileName({ offset: 20, epoch: 3 })]);
      expect(readdirSync(dir.path).some((n) => n.endsWith('.tmp'))).toBe(false);
      const chunk = reopened.read({ offset: 10, epoch: 2 }, 3, 5)!;
      expect([chunk.size, hex(chunk.bytes)]).toEqual([older.length, hex(older.subarray(3, 8))]);
      expect(reopened.read({ offset: 20, epoch: 3 }, 0, 5)).toBeUndefined();
      expect(topicIdKey(imageOfSnapshot(reopened.read({ offset: 10, epoch: 2 }, 0, older.length)!.bytes).topicsByName.get('a')!.topicId))
        .toBe(topicIdKey(image.topicsByName.get('a')!.topicId));
    } finally {
      dir.cleanup();
    }
  });
});
