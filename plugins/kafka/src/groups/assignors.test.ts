/** The server assignors of consumer (KIP-848) groups: balance, stickiness, determinism, subscriptions. */
import { describe, expect, it } from 'vitest';
import { EMPTY_ASSIGNMENT, assignmentFrom, partitionCount, rangeAssignor, sortedEntries, uniformAssignor, type Assignment, type AssignmentMember, type AssignmentSpec } from './assignors.js';

const topics = (spec: Record<string, number>): AssignmentSpec['topics'] => new Map(Object.entries(spec).map(([name, partitions]) => [`id-${name}`, { name, partitions }]));

function member(memberId: string, subscribed: string[], previous: Assignment = EMPTY_ASSIGNMENT, instanceId: string | null = null): AssignmentMember {
  return { memberId, instanceId, topics: new Set(subscribed.map((t) => `id-${t}`)), previous };
}

const plain = (result: Map<string, Assignment>) => Object.fromEntries([...result].map(([id, a]) => [id, sortedEntries(a)]));
const counts = (result: Map<string, Assignment>) => [...result.values()].map(partitionCount);

/** Every partition of every topic exactly once. */
function expectComplete(result: Map<string, Assignment>, spec: AssignmentSpec['topics']): void {
  const seen: string[] = [];
  for (const a of result.values()) for (const [t, ps] of a) for (const p of ps) seen.push(`${t}:${p}`);
  const all = [...spec].flatMap(([id, t]) => Array.from({ length: t.partitions }, (_, p) => `${id}:${p}`));
  expect(seen.sort()).toEqual(all.sort());
}

describe('uniform assignor', () => {
  it('balances partitions of all topics so that counts differ by at most one', () => {
    const t = topics({ a: 4, b: 3 });
    const result = uniformAssignor.assign({ members: [member('m1', ['a', 'b']), member('m2', ['a', 'b']), member('m3', ['a', 'b'])], topics: t });
    expectComplete(result, t);
    expect(counts(result).sort()).toEqual([2, 2, 3]);
  });

  it('is deterministic whatever the order members come in', () => {
    const t = topics({ a: 5, b: 7 });
    const ms = [member('x', ['a', 'b']), member('y', ['a', 'b']), member('z', ['a', 'b'])];
    const one = plain(uniformAssignor.assign({ members: ms, topics: t }));
    expect(plain(uniformAssignor.assign({ members: [...ms].reverse(), topics: t }))).toEqual(one);
    expect(plain(uniformAssignor.assign({ members: ms, topics: t }))).toEqual(one);
  });

  it('is sticky: a new member takes only its share, everyone else keeps the rest of theirs', () => {
    const t = topics({ a: 6 });
    const first = uniformAssignor.assign({ members: [member('m1', ['a']), member('m2', ['a'])], topics: t });
    const second = uniformAssignor.assign({
      members: [member('m1', ['a'], first.get('m1')), member('m2', ['a'], first.get('m2')), member('m3', ['a'])], topics: t,
    });
    expectComplete(second, t);
    expect(counts(second)).toEqual([2, 2, 2]);
    for (const id of ['m1', 'm2']) {
      const kept = [...second.get(id)!.get('id-a')!].filter((p) => first.get(id)!.get('id-a')!.has(p));
      expect(kept).toHaveLength(2);
    }
    // A member that leaves hands over only its own partitions.
    const third = uniformAssignor.assign({ members: [member('m1', ['a'], second.get('m1')), member('m3', ['a'], second.get('m3'))], topics: t });
    for (const id of ['m1', 'm3']) for (const p of second.get(id)!.get('id-a')!) expect(third.get(id)!.get('id-a')!.has(p)).toBe(true);
    expect(counts(third)).toEqual([3, 3]);
  });

  it('gives members only topics they subscribe to, as evenly as the subscriptions allow', () => {
    const t = topics({ a: 4, b: 2 });
    const result = uniformAssignor.assign({ members: [member('m1', ['a']), member('m2', ['a', 'b']), member('m3', ['b'])], topics: t });
    expectComplete(result, t);
    expect(result.get('m1')!.has('id-b')).toBe(false);
    expect(result.get('m3')!.has('id-a')).toBe(false);
    expect(counts(result)).toEqual([2, 2, 2]);
  });

  it('drops previous partitions of topics no longer subscribed to or that shrank away', () => {
    const t = topics({ a: 2 });
    const result = uniformAssignor.assign({ members: [member('m1', ['a'], assignmentFrom([['id-a', [0, 1, 5]], ['id-b', [0]]]))], topics: t });
    expect(plain(result)).toEqual({ m1: [['id-a', [0, 1]]] });
  });
});

describe('range assignor', () => {
  it('hands out contiguous ranges, the first members one more, and co-partitions topics of equal size', () => {
    const t = topics({ a: 5, b: 5 });
    const result = rangeAssignor.assign({ members: [member('m2', ['a', 'b']), member('m1', ['a', 'b'])], topics: t });
    expect(plain(result)).toEqual({
      m1: [['id-a', [0, 1, 2]], ['id-b', [0, 1, 2]]],
      m2: [['id-a', [3, 4]], ['id-b', [3, 4]]],
    });
  });

  it('orders static members by instance id ahead of dynamic ones, and skips unsubscribed topics', () => {
    const t = topics({ a: 3, b: 2 });
    const result = rangeAssignor.assign({ members: [member('aaa', ['a']), member('zzz', ['a', 'b'], EMPTY_ASSIGNMENT, 'i-1')], topics: t });
    expect(plain(result)).toEqual({ zzz: [['id-a', [0, 1]], ['id-b', [0, 1]]], aaa: [['id-a', [2]]] });
  });
});
