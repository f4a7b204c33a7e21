/**
 * Server-side assignors of consumer (KIP-848) groups and the partition-set arithmetic the
 * reconciliation needs. The coordinator computes a group's target assignment with one of
 * these whenever the group epoch moves; members then converge to it one heartbeat at a
 * time (consumer-group.ts).
 *
 * Both assignors are deterministic: the same members, subscriptions, topics and previous
 * target always give the same result, so a restart that recomputes it agrees with what was
 * persisted.
 */

/** Topic id (Kafka's base64url form) → partitions. */
export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

export const EMPTY_ASSIGNMENT: Assignment = new Map();

export interface AssignmentMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  /** Topic ids the member subscribes to that exist. */
  readonly topics: ReadonlySet<string>;
  /** The member's previous target assignment, which the uniform assignor keeps where it can. */
  readonly previous: Assignment;
}

export interface AssignmentSpec {
  readonly members: readonly AssignmentMember[];
  /** Topic id → name and partition count, for every topic some member subscribes to. */
  readonly topics: ReadonlyMap<string, { readonly name: string; readonly partitions: number }>;
}

export interface Assignor {
  readonly name: string;
  /** Every member of the spec gets an entry, possibly empty. */
  assign(spec: AssignmentSpec): Map<string, Assignment>;
}

// ---- partition sets ----

export function partitionCount(a: Assignment): number {
  let n = 0;
  for (const ps of a.values()) n += ps.size;
  return n;
}

export function isEmptyAssignment(a: Assignment): boolean {
  return partitionCount(a) === 0;
}

function filterAssignment(a: Assignment, keep: (topicId: string, p: number) => boolean): Assignment {
  const out = new Map<string, Set<number>>();
  for (const [t, ps] of a) {
    for (const p of ps) {
      if (!keep(t, p)) continue;
      let s = out.get(t);
      if (s === undefined) out.set(t, (s = new Set()));
      s.add(p);
    }
  }
  return out;
}

export function hasPartition(a: Assignment, topicId: string, p: number): boolean {
  return a.get(topicId)?.has(p) ?? false;
}

export function minus(a: Assignment, b: Assignment): Assignment {
  return filterAssignment(a, (t, p) => !hasPartition(b, t, p));
}

export function intersect(a: Assignment, b: Assignment): Assignment {
  return filterAssignment(a, (t, p) => hasPartition(b, t, p));
}

export function union(a: Assignment, b: Assignment): Assignment {
  const out = new Map<string, Set<number>>();
  for (const src of [a, b]) {
    for (const [t, ps] of src) {
      let s = out.get(t);
      if (s === undefined) out.set(t, (s = new Set()));
      for (const p of ps) s.add(p);
    }
  }
  return out;
}

export function isSubset(a: Assignment, b: Assignment): boolean {
  for (const [t, ps] of a) for (const p of ps) if (!hasPartition(b, t, p)) return false;
  return true;
}

export function sameAssignment(a: Assignment, b: Assignment): boolean {
  return isSubset(a, b) && isSubset(b, a);
}

export function assignmentFrom(entries: Iterable<readonly [string, Iterable<number>]>): Assignment {
  const out = new Map<string, Set<number>>();
  for (const [t, ps] of entries) {
    let s = out.get(t);
    for (const p of ps) {
      if (s === undefined) out.set(t, (s = new Set()));
      s.add(p);
    }
  }
  return out;
}

/** Topic ids in a stable order, then partitions ascending: how assignments are written and answered. */
export function sortedEntries(a: Assignment): Array<[string, number[]]> {
  return [...a]
    .filter(([, ps]) => ps.size > 0)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([t, ps]) => [t, [...ps].sort((x, y) => x - y)]);
}

// ---- assignors ----

const byMemberId = (a: AssignmentMember, b: AssignmentMember): number => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);

/** Topic ids by topic name, so that results do not depend on the random ids. */
function topicOrder(spec: AssignmentSpec): string[] {
  return [...spec.topics.keys()].sort((a, b) => {
    const x = spec.topics.get(a)!.name;
    const y = spec.topics.get(b)!.name;
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/**
 * Spreads every subscribed partition so that members' partition counts differ by at most
 * one (when everyone subscribes to the same topics; with different subscriptions, as
 * evenly as moving one partition at a time can make it), keeping each member's previous
 * partitions wherever that balance allows, so a rebalance moves as few partitions as it can.
 */
export const uniformAssignor: Assignor = {
  name: 'uniform',
  assign(spec) {
    const members = [...spec.members].sort(byMemberId);
    const owned = new Map<string, Set<string>>(members.map((m) => [m.memberId, new Set<string>()]));
    const owner = new Map<string, string>();
    const key = (t: string, p: number) => `${t}:${p}`;
    const take = (memberId: string, k: string) => {
      const prev = owner.get(k);
      if (prev !== undefined) owned.get(prev)!.delete(k);
      owner.set(k, memberId);
      owned.get(memberId)!.add(k);
    };
    const partitions: Array<{ topic: string; partition: number; key: string; eligible: AssignmentMember[] }> = [];
    for (const topic of topicOrder(spec)) {
      const eligible = members.filter((m) => m.topics.has(topic));
      if (eligible.length === 0) continue;
      for (let p = 0; p < spec.topics.get(topic)!.partitions; p++) partitions.push({ topic, partition: p, key: key(topic, p), eligible });
    }
    const valid = new Set(partitions.map((x) => x.key));
    // 1. Stickiness: previous partitions that still exist and are still subscribed to.
    for (const m of members) {
      for (const [topic, ps] of m.previous) {
        if (!m.topics.has(topic)) continue;
        for (const p of ps) {
          const k = key(topic, p);
          if (valid.has(k) && !owner.has(k)) take(m.memberId, k);
        }
      }
    }
    const leastLoaded = (eligible: readonly AssignmentMember[]): AssignmentMember => {
      let best = eligible[0]!;
      for (const m of eligible) if (owned.get(m.memberId)!.size < owned.get(best.memberId)!.size) best = m;
      return best;
    };
    // 2. The rest, scarcest subscribers first, each to the least loaded member that wants it.
    const unassigned = partitions.filter((x) => !owner.has(x.key)).sort((a, b) => a.eligible.length - b.eligible.length);
    for (const x of unassigned) take(leastLoaded(x.eligible).memberId, x.key);
    // 3. Balance: move a partition whenever its owner has two or more than some member that
    // could take it. Each move lowers the sum of squared counts, so this ends.
    for (let moved = true; moved;) {
      moved = false;
      for (const x of partitions) {
        const from = owner.get(x.key)!;
        const to = leastLoaded(x.eligible);
        if (owned.get(from)!.size - owned.get(to.memberId)!.size > 1) {
          take(to.memberId, x.key);
          moved = true;
        }
      }
    }
    const out = new Map<string, Assignment>();
    for (const m of members) {
      out.set(m.memberId, assignmentFrom([...owned.get(m.memberId)!].map((k) => {
        const colon = k.lastIndexOf(':');
        return [k.slice(0, colon), [Number(k.slice(colon + 1))]] as const;
      })));
    }
    return out;
  },
};

/**
 * Per topic, contiguous ranges of partitions to its subscribers in order (instance id, then
 * member id), the first ones getting one more when it does not divide evenly: members
 * subscribed to topics with equal partition counts get the same partition numbers of each
 * (co-partitioning). Not sticky: a new member shifts the ranges.
 */
export const rangeAssignor: Assignor = {
  name: 'range',
  assign(spec) {
    const order = (m: AssignmentMember) => `${m.instanceId === null ? '1' : `0${m.instanceId}`}\u0000${m.memberId}`;
    const members = [...spec.members].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    const result = new Map<string, Map<string, Set<number>>>(members.map((m) => [m.memberId, new Map()]));
    for (const topic of topicOrder(spec)) {
      const subscribers = members.filter((m) => m.topics.has(topic));
      if (subscribers.length === 0) continue;
      const n = spec.topics.get(topic)!.partitions;
      const base = Math.floor(n / subscribers.length);
      const extra = n % subscribers.length;
      let next = 0;
      subscribers.forEach((m, i) => {
        const count = base + (i < extra ? 1 : 0);
        if (count === 0) return;
        const ps = new Set<number>();
        for (let p = next; p < next + count; p++) ps.add(p);
        result.get(m.memberId)!.set(topic, ps);
        next += count;
      });
    }
    return new Map([...result].map(([id, a]) => [id, a as Assignment]));
  },
};

export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([uniformAssignor, rangeAssignor].map((a) => [a.name, a]));

/** Kafka names the built-in assignors by class in group.consumer.assignors; both spellings are accepted. */
const KAFKA_CLASS_NAMES: Readonly<Record<string, string>> = {
  'org.apache.kafka.coordinator.group.assignor.UniformAssignor': 'uniform',
  'org.apache.kafka.coordinator.group.assignor.RangeAssignor': 'range',
};

/** The assignor names a group.consumer.assignors value lists; throws on one that does not exist. */
export function parseAssignorList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => KAFKA_CLASS_NAMES[s] ?? s);
  for (const n of names) if (!ASSIGNORS.has(n)) throw new Error(`unknown assignor in group.consumer.assignors: ${n} (known: ${[...ASSIGNORS.keys()].join(', ')})`);
  if (names.length === 0) throw new Error('group.consumer.assignors lists no assignor');
  return names;
}
