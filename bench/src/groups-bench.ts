/**
 * `npm run bench:groups`: the consumer-group coordinator of a Sluice broker process, driven
 * over 127.0.0.1 by a small client on the broker's own codecs, so that ten group members
 * cost ten sockets rather than ten librdkafka processes.
 *
 * Method
 * 1. Rebalance, classic protocol (eager, range assignment computed by the leader as a
 *    consumer would). GROUP_REPS times, on a fresh group each time: 10 members join and
 *    sync on a 60-partition topic, heartbeating every BENCH_GROUP_HEARTBEAT_MS; then an
 *    11th member joins. Measured from the 11th member's first JoinGroup until every one of
 *    the 11 has its SyncGroup answer for the new generation:
 *    - classic_rebalance_ms: all of it. The 10 members learn of the rebalance from their
 *      next heartbeat (REBALANCE_IN_PROGRESS), so up to one heartbeat interval of it is
 *      the clients' configuration, not the broker;
 *    - classic_rebalance_after_last_join_ms: from the last member's JoinGroup of the new
 *      generation, which is the coordinator's share: answering 11 joins, the leader's
 *      assignment round trip, 11 syncs.
 * 2. Rebalance, consumer protocol (KIP-848, ConsumerGroupHeartbeat v1, the broker's
 *    default server-side assignor), the same shape: 10 members converged on 60 partitions,
 *    then an 11th. A member heartbeats every BENCH_GROUP_HEARTBEAT_MS, and at once after its
 *    assignment changed, to report what it owns (revocation and assignment are instant
 *    here: there is no processing to finish). kip848_rebalance_ms runs from the new
 *    member's first heartbeat until the assignment has converged: every member at the same
 *    epoch, owning disjoint partitions that cover all 60, the new member some of them.
 * 3. Committed offsets: OffsetCommit outside group management (generation -1, no member
 *    id) of 1 and of 60 partitions per request, COMMIT_CONNECTIONS connections with
 *    COMMIT_IN_FLIGHT requests pipelined on each, one group per connection, for
 *    COMMIT_SECONDS, COMMIT_REPS times; on a broker with the default
 *    log.write.caching=false (a commit is answered once fdatasync'd) and with true.
 *    Reported as requests/s and commits/s (partitions committed per second).
 * Figures are `name median min=.. max=.. n=..` over the repetitions.
 *
 * Knobs (environment): GROUP_REPS (20), BENCH_GROUP_HEARTBEAT_MS (100), COMMIT_SECONDS (3),
 * COMMIT_REPS (3), COMMIT_CONNECTIONS (4), COMMIT_IN_FLIGHT (16).
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import {
  ApiKey, encodeConsumerProtocolAssignment, encodeConsumerProtocolSubscription, encodeRequest, readResponseFrame,
  type Decoded, type KnownApiKey, type RequestOf, type ResponseOf,
} from '@sluice/plugin-kafka/protocol';
import { startBroker, type Broker } from './processes.js';
import { fmt, fmtSummary, nowNs, percentile, summarize } from './stats.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

const GROUP_REPS = envInt('GROUP_REPS', 20);
const HEARTBEAT_MS = envInt('BENCH_GROUP_HEARTBEAT_MS', 100);
const COMMIT_SECONDS = envInt('COMMIT_SECONDS', 3);
const COMMIT_REPS = envInt('COMMIT_REPS', 3);
const COMMIT_CONNECTIONS = envInt('COMMIT_CONNECTIONS', 4);
const COMMIT_IN_FLIGHT = envInt('COMMIT_IN_FLIGHT', 16);
const MEMBERS = 10;
const PARTITIONS = 60;
const SESSION_TIMEOUT_MS = 30_000;
const REBALANCE_TIMEOUT_MS = 30_000;
/** A rebalance or a commit run that takes longer has failed. */
const WAIT_MS = 60_000;
const CLIENT_ID = 'sluice-groups-bench';

/** The versions this client writes: the newest our broker serves, which carries every field set below. */
const VERSIONS = {
  [ApiKey.CreateTopics]: 7,
  [ApiKey.FindCoordinator]: 4,
  [ApiKey.JoinGroup]: 9,
  [ApiKey.SyncGroup]: 5,
  [ApiKey.Heartbeat]: 4,
  [ApiKey.LeaveGroup]: 5,
  [ApiKey.OffsetCommit]: 9,
  [ApiKey.ConsumerGroupHeartbeat]: 1,
} as const;
type BenchApi = keyof typeof VERSIONS;

const NONE = 0;
const COORDINATOR_NOT_AVAILABLE = 15;
const REBALANCE_IN_PROGRESS = 27;
const MEMBER_ID_REQUIRED = 79;

function log(line: string): void {
  process.stderr.write(`# ${line}\n`);
}

function ms(from: bigint, to: bigint): number {
  return Number(to - from) / 1e6;
}

/** One connection, requests pipelined and answered in order. */
class Connection {
  private readonly pending: Array<{ apiKey: KnownApiKey; resolve: (body: unknown) => void; reject: (e: Error) => void }> = [];
  private buffered: Buffer = Buffer.alloc(0);
  private correlationId = 0;
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  static open(bootstrap: string): Promise<Connection> {
    const colon = bootstrap.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const socket = connect({ host: bootstrap.slice(0, colon), port: Number(bootstrap.slice(colon + 1)), noDelay: true });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  send<K extends BenchApi>(apiKey: K, body: RequestOf<K>): Promise<Decoded<ResponseOf<K>>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ apiKey, resolve: resolve as (body: unknown) => void, reject });
      this.socket.write(encodeRequest(apiKey, VERSIONS[apiKey], ++this.correlationId, CLIENT_ID, body));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
      const size = this.buffered.readInt32BE(0);
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const next = this.pending.shift();
      if (next === undefined) {
        this.fail(new Error('a response to no request'));
        return;
      }
      next.resolve(readResponseFrame(frame, next.apiKey, VERSIONS[next.apiKey as BenchApi]).body);
    }
  }

  private fail(e: Error): void {
    if (this.failure !== undefined) return;
    this.failure = e;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) p.reject(e);
  }
}

async function createTopic(conn: Connection, name: string, partitions: number): Promise<void> {
  const answer = await conn.send(ApiKey.CreateTopics, {
    topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 30_000, validateOnly: false,
  });
  const code = answer.topics[0]?.errorCode;
  if (code !== NONE) throw new Error(`CreateTopics ${name}: error ${code}`);
}

/** Waits until the broker coordinates `groupId` (it loads __consumer_offsets after starting). */
async function awaitCoordinator(conn: Connection, groupId: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = (await conn.send(ApiKey.FindCoordinator, { keyType: 0, coordinatorKeys: [groupId] })).coordinators[0];
    if (found?.errorCode === NONE) return;
    if (found?.errorCode !== COORDINATOR_NOT_AVAILABLE || Date.now() > deadline) throw new Error(`FindCoordinator: error ${found?.errorCode}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const TOPIC = 'bench-group-topic';
const SUBSCRIPTION = Buffer.concat([Buffer.from([0, 0]), encodeConsumerProtocolSubscription({ topics: [TOPIC], userData: null }, 0)]);

/** Kafka's range assignor for one topic: consecutive runs, the first members one longer. */
function rangeAssign(memberIds: readonly string[]): Array<{ memberId: string; assignment: Uint8Array }> {
  const sorted = [...memberIds].sort();
  const per = Math.floor(PARTITIONS / sorted.length);
  const extra = PARTITIONS % sorted.length;
  let next = 0;
  return sorted.map((memberId, i) => {
    const count = per + (i < extra ? 1 : 0);
    const partitions = Array.from({ length: count }, (_, k) => next + k);
    next += count;
    const body = encodeConsumerProtocolAssignment({ assignedPartitions: [{ topic: TOPIC, partitions }], userData: null }, 0);
    return { memberId, assignment: Buffer.concat([Buffer.from([0, 0]), body]) };
  });
}

/** A classic consumer-group member: joins, syncs, heartbeats, rejoins when told to. */
class Member {
  memberId = '';
  generation = -1;
  /** Per generation: when this member sent the JoinGroup that got into it, and when its SyncGroup was answered. */
  readonly joinedAt = new Map<number, bigint>();
  readonly syncedAt = new Map<number, bigint>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly conn: Connection,
    private readonly groupId: string,
    private readonly onChange: (error?: Error) => void,
  ) {}

  /** Resolves once this member is in a generation; the first JoinGroup is sent synchronously. */
  async join(): Promise<void> {
    for (;;) {
      const sentAt = nowNs();
      const joined = await this.conn.send(ApiKey.JoinGroup, {
        groupId: this.groupId, sessionTimeoutMs: SESSION_TIMEOUT_MS, rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
        memberId: this.memberId, groupInstanceId: null, protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: SUBSCRIPTION }], reason: null,
      });
      if (joined.errorCode === MEMBER_ID_REQUIRED) {
        this.memberId = joined.memberId;
        continue;
      }
      if (joined.errorCode !== NONE) throw new Error(`JoinGroup: error ${joined.errorCode}`);
      this.memberId = joined.memberId;
      const synced = await this.conn.send(ApiKey.SyncGroup, {
        groupId: this.groupId, generationId: joined.generationId, memberId: this.memberId, groupInstanceId: null,
        protocolType: 'consumer', protocolName: joined.protocolName,
        assignments: joined.leader === this.memberId ? rangeAssign(joined.members.map((m) => m.memberId)) : [],
      });
      if (synced.errorCode === REBALANCE_IN_PROGRESS) continue;
      if (synced.errorCode !== NONE) throw new Error(`SyncGroup: error ${synced.errorCode}`);
      this.generation = joined.generationId;
      this.joinedAt.set(this.generation, sentAt);
      this.syncedAt.set(this.generation, nowNs());
      this.onChange();
      this.scheduleHeartbeat();
      return;
    }
  }

  private scheduleHeartbeat(): void {
    this.timer = setTimeout(() => {
      this.conn.send(ApiKey.Heartbeat, { groupId: this.groupId, generationId: this.generation, memberId: this.memberId, groupInstanceId: null })
        .then((answer) => {
          if (this.stopped) return undefined;
          if (answer.errorCode === REBALANCE_IN_PROGRESS) return this.join();
          if (answer.errorCode !== NONE) throw new Error(`Heartbeat: error ${answer.errorCode}`);
          this.scheduleHeartbeat();
          return undefined;
        })
        .catch((e: Error) => {
          if (!this.stopped) this.onChange(e);
        });
    }, HEARTBEAT_MS);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

/** The members of one group and a way to wait until all of them are in one generation. */
class Group {
  readonly members: Member[] = [];
  private failure: Error | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(readonly groupId: string, private readonly conns: readonly Connection[]) {}

  add(): Member {
    const m = new Member(this.conns[this.members.length]!, this.groupId, (error) => (error === undefined ? this.notify() : this.fail(error)));
    this.members.push(m);
    return m;
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the generation once every member has synced the same one, newer than `after`. */
  stable(after: number): Promise<number> {
    const check = (): number | undefined => {
      const g = this.members[0]!.generation;
      return g > after && this.members.every((m) => m.generation === g) ? g : undefined;
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`group ${this.groupId} did not settle within ${WAIT_MS} ms`)), WAIT_MS);
      const done = (error?: Error, generation?: number): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (error !== undefined) reject(error);
        else resolve(generation!);
      };
      const waiter = (): void => {
        if (this.failure !== undefined) return done(this.failure);
        const g = check();
        if (g !== undefined) done(undefined, g);
      };
      this.waiters.add(waiter);
      waiter();
    });
  }

  async leave(): Promise<void> {
    for (const m of this.members) m.stop();
    await this.conns[0]!.send(ApiKey.LeaveGroup, {
      groupId: this.groupId, members: this.members.map((m) => ({ memberId: m.memberId, groupInstanceId: null, reason: null })),
    });
  }
}

/** A KIP-848 member: the coordinator assigns; the member reports what it owns after each change. */
class ConsumerMember {
  readonly memberId = randomUUID();
  epoch = 0;
  owned: readonly number[] = [];
  private topicId: Uint8Array | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly conn: Connection,
    private readonly groupId: string,
    private readonly onChange: (error?: Error) => void,
  ) {}

  /** Sends the joining heartbeat synchronously, then keeps heartbeating until stopped. */
  start(): void {
    this.heartbeat();
  }

  private heartbeat(): void {
    const joining = this.epoch === 0;
    this.conn.send(ApiKey.ConsumerGroupHeartbeat, {
      groupId: this.groupId, memberId: this.memberId, memberEpoch: this.epoch, instanceId: null, rackId: null,
      // -1 and null: unchanged since the last heartbeat.
      rebalanceTimeoutMs: joining ? REBALANCE_TIMEOUT_MS : -1,
      subscribedTopicNames: joining ? [TOPIC] : null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: this.topicId === undefined ? [] : [{ topicId: this.topicId, partitions: [...this.owned] }],
    }).then((answer) => {
      if (this.stopped) return;
      if (answer.errorCode !== NONE) throw new Error(`ConsumerGroupHeartbeat: error ${answer.errorCode} (${answer.errorMessage})`);
      this.epoch = answer.memberEpoch;
      let changed = false;
      if (answer.assignment !== null) {
        const assigned = answer.assignment.topicPartitions.flatMap((t) => t.partitions).sort((a, b) => a - b);
        this.topicId ??= answer.assignment.topicPartitions[0]?.topicId;
        changed = assigned.join() !== this.owned.join();
        this.owned = assigned;
      }
      this.onChange();
      // A changed assignment is acknowledged at once, as Kafka's consumer does once reconciled.
      this.timer = setTimeout(() => this.heartbeat(), changed ? 0 : HEARTBEAT_MS);
    }).catch((e: Error) => {
      if (!this.stopped) this.onChange(e);
    });
  }

  async leave(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.conn.send(ApiKey.ConsumerGroupHeartbeat, {
      groupId: this.groupId, memberId: this.memberId, memberEpoch: -1, instanceId: null, rackId: null,
      rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null,
    });
  }
}

/** The members of one KIP-848 group and a way to wait until their assignment has converged. */
class ConsumerGroup {
  readonly members: ConsumerMember[] = [];
  private failure: Error | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(readonly groupId: string, private readonly conns: readonly Connection[]) {}

  add(): ConsumerMember {
    const m = new ConsumerMember(this.conns[this.members.length]!, this.groupId, (error) => {
      if (error !== undefined) this.failure ??= error;
      for (const w of [...this.waiters]) w();
    });
    this.members.push(m);
    return m;
  }

  private converged(): boolean {
    const epoch = this.members[0]!.epoch;
    const owned = this.members.flatMap((m) => m.owned);
    return epoch > 0 && this.members.every((m) => m.epoch === epoch && m.owned.length > 0) &&
      owned.length === PARTITIONS && new Set(owned).size === PARTITIONS;
  }

  /** Resolves with the time the assignment was first seen converged. */
  settled(): Promise<bigint> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`group ${this.groupId} did not converge within ${WAIT_MS} ms`)), WAIT_MS);
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (error !== undefined) reject(error);
        else resolve(nowNs());
      };
      const waiter = (): void => {
        if (this.failure !== undefined) done(this.failure);
        else if (this.converged()) done();
      };
      this.waiters.add(waiter);
      waiter();
    });
  }

  async leave(): Promise<void> {
    await Promise.all(this.members.map((m) => m.leave()));
  }
}

async function benchConsumerProtocol(broker: Broker): Promise<void> {
  const conns = await Promise.all(Array.from({ length: MEMBERS + 1 }, () => Connection.open(broker.bootstrap)));
  const times: number[] = [];
  try {
    for (let rep = 0; rep < GROUP_REPS; rep++) {
      const group = new ConsumerGroup(`bench-kip848-${rep}`, conns);
      await awaitCoordinator(conns[0]!, group.groupId);
      for (let i = 0; i < MEMBERS; i++) group.add().start();
      await group.settled();
      const t0 = nowNs();
      group.add().start();
      times.push(ms(t0, await group.settled()));
      await group.leave();
    }
  } finally {
    for (const c of conns) c.close();
  }
  console.log(`kip848_rebalance_ms ${fmtSummary(summarize(times), 1)}`);
  console.log(`kip848_rebalance_p99_ms ${fmt(percentile([...times].sort((a, b) => a - b), 0.99), 1)}`);
}

async function benchRebalance(broker: Broker): Promise<void> {
  const conns = await Promise.all(Array.from({ length: MEMBERS + 1 }, () => Connection.open(broker.bootstrap)));
  await createTopic(conns[0]!, TOPIC, PARTITIONS);
  const total: number[] = [];
  const afterLastJoin: number[] = [];
  try {
    for (let rep = 0; rep < GROUP_REPS; rep++) {
      const group = new Group(`bench-rebalance-${rep}`, conns);
      await awaitCoordinator(conns[0]!, group.groupId);
      const first = Array.from({ length: MEMBERS }, () => group.add());
      await Promise.all(first.map((m) => m.join()));
      const before = await group.stable(-1);

      const t0 = nowNs();
      group.add().join().catch((e: Error) => group.fail(e));
      const generation = await group.stable(before);
      const end = group.members.reduce((max, m) => (m.syncedAt.get(generation)! > max ? m.syncedAt.get(generation)! : max), 0n);
      const lastJoin = group.members.reduce((max, m) => (m.joinedAt.get(generation)! > max ? m.joinedAt.get(generation)! : max), 0n);
      total.push(ms(t0, end));
      afterLastJoin.push(ms(lastJoin, end));
      await group.leave();
    }
  } finally {
    for (const c of conns) c.close();
  }
  const sorted = [...total].sort((a, b) => a - b);
  console.log(`classic_rebalance_ms ${fmtSummary(summarize(total), 1)}`);
  console.log(`classic_rebalance_p99_ms ${fmt(percentile(sorted, 0.99), 1)}`);
  const sortedAfter = [...afterLastJoin].sort((a, b) => a - b);
  console.log(`classic_rebalance_after_last_join_ms ${fmtSummary(summarize(afterLastJoin), 1)}`);
  console.log(`classic_rebalance_after_last_join_p99_ms ${fmt(percentile(sortedAfter, 0.99), 1)}`);
}

/** Requests answered in COMMIT_SECONDS, COMMIT_IN_FLIGHT at a time on each connection. */
async function commitRun(conns: readonly Connection[], topic: string, partitionsPerRequest: number, run: number): Promise<number> {
  let answered = 0;
  const deadline = Date.now() + COMMIT_SECONDS * 1000;
  let offset = run * 1_000_000_000;
  const started = nowNs();
  await Promise.all(conns.flatMap((conn, c) => Array.from({ length: COMMIT_IN_FLIGHT }, async () => {
    while (Date.now() < deadline) {
      const committedOffset = offset++;
      const answer = await conn.send(ApiKey.OffsetCommit, {
        groupId: `bench-commits-${c}`, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
        topics: [{
          name: topic,
          partitions: Array.from({ length: partitionsPerRequest }, (_, partitionIndex) => ({
            partitionIndex, committedOffset, committedLeaderEpoch: -1, committedMetadata: '',
          })),
        }],
      });
      const failed = answer.topics[0]?.partitions.find((p) => p.errorCode !== NONE);
      if (failed !== undefined) throw new Error(`OffsetCommit: error ${failed.errorCode}`);
      answered++;
    }
  })));
  return answered / (ms(started, nowNs()) / 1000);
}

async function benchCommits(broker: Broker, caching: boolean): Promise<void> {
  const conns = await Promise.all(Array.from({ length: COMMIT_CONNECTIONS }, () => Connection.open(broker.bootstrap)));
  const topic = 'bench-commit-topic';
  try {
    await createTopic(conns[0]!, topic, PARTITIONS);
    for (let c = 0; c < conns.length; c++) await awaitCoordinator(conns[c]!, `bench-commits-${c}`);
    for (const perRequest of [1, PARTITIONS]) {
      // Untimed: the first commits of a group create it and its __consumer_offsets segment.
      await commitRun(conns, topic, perRequest, 0);
      const rates: number[] = [];
      for (let rep = 1; rep <= COMMIT_REPS; rep++) rates.push(await commitRun(conns, topic, perRequest, rep));
      const name = `${caching ? 'nofsync' : 'fsync'}_p${perRequest}`;
      console.log(`offset_commit_requests_per_s_${name} ${fmtSummary(summarize(rates))}`);
      console.log(`offset_commit_commits_per_s_${name} ${fmtSummary(summarize(rates.map((r) => r * perRequest)))}`);
    }
  } finally {
    for (const c of conns) c.close();
  }
}

async function main(): Promise<void> {
  log(`loadavg ${loadavg().map((l) => l.toFixed(2)).join(' ')}; heartbeat every ${HEARTBEAT_MS} ms, ${GROUP_REPS} rebalances, ` +
    `${COMMIT_CONNECTIONS} connections x ${COMMIT_IN_FLIGHT} commits in flight for ${COMMIT_SECONDS} s x ${COMMIT_REPS}`);
  for (const caching of [false, true]) {
    const broker = await startBroker({ 'group.initial.rebalance.delay.ms': '0', 'log.write.caching': String(caching) });
    try {
      if (!caching) {
        await benchRebalance(broker);
        await benchConsumerProtocol(broker);
      }
      await benchCommits(broker, caching);
    } catch (e) {
      log(`failed: ${(e as Error).message}\n${broker.output().slice(-4000)}`);
      throw e;
    } finally {
      await broker.stop();
    }
  }
}

await main();
