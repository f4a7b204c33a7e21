/**
 * Consumer groups against a real broker process with real clients: librdkafka consumers
 * (confluent_kafka, clients/group_consumer.py) sharing a topic while members come and go,
 * KafkaJS consumers, a broker restart in the middle of a group's life, and the coordinator's
 * error codes driven through our own codecs on a raw socket.
 *
 * Nothing here waits for time to pass: every wait is for an event (an assignment, a
 * record, a response), bounded only so that a broken broker fails instead of hanging.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { ApiKey, type KnownApiKey, type RequestOf } from '../src/protocol/index.js';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { PYTHON } from './clients.js';
import { rawConnect, type RawConnection } from './raw-client.js';

const GROUP_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'clients', 'group_consumer.py');
const WAIT_MS = 45_000;
/** Low timeouts so that rebalances after a member leaves or dies are quick; the broker allows them. */
const BROKER_OVERRIDES = {
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '1000',
  'offsets.topic.num.partitions': '5',
  'num.partitions': '1',
};
const LIBRDKAFKA_GROUP_CONFIG = {
  'session.timeout.ms': 4000,
  'heartbeat.interval.ms': 250,
  'auto.commit.interval.ms': 200,
  'fetch.wait.max.ms': 50,
  'topic.metadata.refresh.interval.ms': 1000,
  // librdkafka's reconnect backoff grows to 10 s by default: a member would miss its session
  // across a broker restart on a loaded machine.
  'reconnect.backoff.max.ms': 500,
};

/** Resolves when `ready()` holds, checked whenever `subscribe`'s callback fires. */
function waitFor(subscribe: (check: () => void) => () => void, ready: () => boolean, what: () => string): Promise<void> {
  if (ready()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let unsubscribe = (): void => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for ${what()}`));
    }, WAIT_MS);
    unsubscribe = subscribe(() => {
      if (!ready()) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

interface ConsumedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/** One group_consumer.py process and everything it reported. */
class LibrdkafkaConsumer {
  readonly records: ConsumedRecord[] = [];
  /** Error events the client reported, for failure messages. */
  readonly errors: string[] = [];
  assignment: number[] = [];
  assignments = 0;
  closed = false;
  private stderr = '';
  private readonly listeners = new Set<() => void>();

  private constructor(readonly name: string, private readonly child: ChildProcessWithoutNullStreams) {
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line.trim() !== '') this.onEvent(JSON.parse(line) as Record<string, unknown>);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-20_000);
    });
    child.once('exit', () => {
      this.closed = true;
      this.notify();
    });
  }

  static start(name: string, bootstrap: string, args: { topic: string; group: string; config?: object }): LibrdkafkaConsumer {
    const child = spawn(PYTHON, [GROUP_SCRIPT, bootstrap], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.write(JSON.stringify({ ...args, config: { ...LIBRDKAFKA_GROUP_CONFIG, ...args.config } }) + '\n');
    const c = new LibrdkafkaConsumer(name, child);
    running.add(c);
    return c;
  }

  private onEvent(e: Record<string, unknown>): void {
    if (e.event === 'record') this.records.push({ partition: e.partition as number, offset: e.offset as number, value: e.value as string });
    else if (e.event === 'error') this.errors.push(String(e.error));
    else if (e.event === 'assigned') {
      // Eager rebalances revoke everything and assign the full set; cooperative ones (KIP-429)
      // assign and revoke increments: a set covers both.
      this.assignment = [...new Set([...this.assignment, ...(e.partitions as number[])])].sort((a, b) => a - b);
      this.assignments++;
    } else if (e.event === 'revoked') {
      const revoked = new Set(e.partitions as number[]);
      this.assignment = this.assignment.filter((p) => !revoked.has(p));
    }
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get diagnostics(): string {
    return `${this.name}: ${this.stderr}`;
  }

  until(ready: () => boolean, what: string): Promise<void> {
    return untilAll([this], ready, what);
  }

  /** Closes the consumer as an application would: commits, leaves the group, exits. */
  async close(): Promise<void> {
    if (!this.closed) this.child.stdin.end('close\n');
    await this.until(() => this.closed, 'close');
    running.delete(this);
  }

  kill(): void {
    this.child.kill('SIGKILL');
    running.delete(this);
  }
}

const running = new Set<LibrdkafkaConsumer>();

/** Resolves when `ready()` holds, checked whenever one of `consumers` reports something. */
function untilAll(consumers: readonly LibrdkafkaConsumer[], ready: () => boolean, what: string | (() => string)): Promise<void> {
  return waitFor(
    (check) => {
      const offs = consumers.map((c) => c.onChange(check));
      return () => offs.forEach((off) => off());
    },
    ready,
    () => `${typeof what === 'string' ? what : what()}\n${consumers.map((c) => c.diagnostics).join('\n')}`,
  );
}

/** Waits until all of `consumers` together have seen every value in `values`. */
function untilAllConsumed(consumers: readonly LibrdkafkaConsumer[], values: readonly string[]): Promise<void> {
  const missing = (): string[] => {
    const seen = new Set(consumers.flatMap((c) => c.records.map((r) => r.value)));
    return values.filter((v) => !seen.has(v));
  };
  return untilAll(consumers, () => missing().length === 0,
    () => `records: ${missing().length} of ${values.length} missing, e.g. ${missing().slice(0, 3).join(', ')}`);
}

/** Whether `cs` own all of a 6-partition topic between them, each some, none twice. */
function sharing(cs: readonly LibrdkafkaConsumer[], partitions: number): () => boolean {
  return () => {
    const owned = cs.flatMap((c) => c.assignment);
    return cs.every((c) => c.assignment.length > 0) && new Set(owned).size === partitions && owned.length === partitions;
  };
}

/** The coordinator's "group rebalancing" log lines for `group`. */
function rebalances(group: string): number {
  return logLines(broker.output(), 'INFO').filter((l) => l.includes('group rebalancing') && l.includes(group)).length;
}

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await startBroker({ overrides: BROKER_OVERRIDES });
  kafka = new Kafka({ clientId: 'sluice-it-groups', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
});

afterEach(() => {
  for (const c of running) c.kill();
});

afterAll(async () => {
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  const code = await broker?.stop();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
  expect(code).toBe(0);
});

async function createTopic(topic: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
}

async function produce(topic: string, values: readonly string[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: value, value })) });
}

/** Produces `prefix-0`, `prefix-1`, ... in small batches until `stop()` is called; returns what it produced. */
function backgroundProducer(topic: string, prefix: string): { stop(): Promise<string[]> } {
  const produced: string[] = [];
  let stopping = false;
  const loop = (async () => {
    for (let i = 0; !stopping; i += 5) {
      const batch = [0, 1, 2, 3, 4].map((j) => `${prefix}-${i + j}`);
      await produce(topic, batch);
      produced.push(...batch);
      // Yield to the event loop so that the consumers' events are handled between batches.
      await new Promise((ok) => setImmediate(ok));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return produced;
    },
  };
}

describe('librdkafka consumers in one group', () => {
  it.each(['range,roundrobin', 'cooperative-sticky'])('%s: share a 6-partition topic while a producer runs and members leave and join; a new member gets nothing already committed', async (strategy) => {
    const topic = `groups-librdkafka-${strategy.replace(/\W/g, '')}`;
    const group = `g-librdkafka-${strategy.replace(/\W/g, '')}`;
    await createTopic(topic, 6);
    const args = { topic, group, config: { 'partition.assignment.strategy': strategy } };
    const [c1, c2, c3] = ['c1', 'c2', 'c3'].map((n) => LibrdkafkaConsumer.start(n, broker.bootstrap, args)) as [LibrdkafkaConsumer, LibrdkafkaConsumer, LibrdkafkaConsumer];
    await untilAll([c1, c2, c3], sharing([c1, c2, c3], 6), 'three members sharing six partitions');

    const before = ['pre-0', 'pre-1', 'pre-2', 'pre-3', 'pre-4', 'pre-5', 'pre-6', 'pre-7'];
    await produce(topic, before);
    await untilAllConsumed([c1, c2, c3], before);

    const bg = backgroundProducer(topic, 'during');
    await c1.close();
    await untilAll([c2, c3], sharing([c2, c3], 6), 'two members sharing six partitions after c1 left');
    const c4 = LibrdkafkaConsumer.start('c4', broker.bootstrap, args);
    await untilAll([c2, c3, c4], sharing([c2, c3, c4], 6), 'c4 taking partitions');
    const during = await bg.stop();
    expect(during.length).toBeGreaterThan(0);
    await untilAllConsumed([c1, c2, c3, c4], [...before, ...during]);

    // At least once: duplicates only where partitions moved.
    const all = [c1, c2, c3, c4].flatMap((c) => c.records);
    const byValue = new Map<string, Set<number>>();
    for (const r of all) byValue.set(r.value, (byValue.get(r.value) ?? new Set()).add(r.offset));
    for (const [value, offsets] of byValue) expect(offsets.size, value).toBe(1);

    await Promise.all([c2.close(), c3.close(), c4.close()]);
    const c5 = LibrdkafkaConsumer.start('c5', broker.bootstrap, args);
    await c5.until(() => c5.assignment.length === 6, 'c5 owning all partitions');
    const after = Array.from({ length: 12 }, (_, i) => `after-${i}`);
    await produce(topic, after);
    await untilAllConsumed([c5], after);
    expect(c5.records.map((r) => r.value).sort()).toEqual([...after].sort());
    await c5.close();

    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort())
      .toEqual(ends.map((p) => [p.partition, p.offset]).sort());
  });

  it('a static member that restarts within its session keeps its partitions without a rebalance', async () => {
    const topic = 'groups-static';
    const group = 'g-static';
    await createTopic(topic, 2);
    const config = (id: string) => ({ 'group.instance.id': id, 'session.timeout.ms': 30_000 });
    const a = LibrdkafkaConsumer.start('a', broker.bootstrap, { topic, group, config: config('inst-a') });
    const b = LibrdkafkaConsumer.start('b', broker.bootstrap, { topic, group, config: config('inst-b') });
    await untilAll([a, b], sharing([a, b], 2), 'one partition each');
    const rebalancesBefore = rebalances(group);
    expect(rebalancesBefore).toBeGreaterThan(0);
    const aAssignments = a.assignments;
    const bPartitions = b.assignment;
    // A crash: no LeaveGroup. The restarted process joins with the same group.instance.id.
    b.kill();
    const b2 = LibrdkafkaConsumer.start('b2', broker.bootstrap, { topic, group, config: config('inst-b') });
    await b2.until(() => b2.assignment.length > 0, 'b2 assigned');
    expect(b2.assignment).toEqual(bPartitions);
    await produce(topic, ['s-0', 's-1', 's-2', 's-3']);
    await untilAllConsumed([a, b2], ['s-0', 's-1', 's-2', 's-3']);
    // No rebalance: the coordinator did not start one, and a never had to give anything up.
    expect(rebalances(group)).toBe(rebalancesBefore);
    expect(a.assignments).toBe(aAssignments);
    await Promise.all([a.close(), b2.close()]);
  });
});

describe('KafkaJS consumers in one group', () => {
  it('consume everything between them, before and after a member leaves', async () => {
    const topic = 'groups-kafkajs';
    const groupId = 'g-kafkajs';
    await createTopic(topic, 4);
    const seen = new Map<string, number>();
    const listeners = new Set<() => void>();
    const consumers: Consumer[] = [];
    for (let i = 0; i < 3; i++) {
      const c = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100, rebalanceTimeout: 10_000 });
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachMessage: async ({ message }) => {
          const v = message.value!.toString();
          seen.set(v, (seen.get(v) ?? 0) + 1);
          for (const l of [...listeners]) l();
        },
      });
      consumers.push(c);
    }
    const untilSeen = (values: readonly string[]) => waitFor((check) => {
      listeners.add(check);
      return () => listeners.delete(check);
    }, () => values.every((v) => seen.has(v)), () => `KafkaJS consumers: ${values.filter((v) => !seen.has(v)).length} of ${values.length} missing`);

    const first = Array.from({ length: 40 }, (_, i) => `kjs-${i}`);
    await produce(topic, first);
    await untilSeen(first);
    await consumers.pop()!.disconnect();
    const second = Array.from({ length: 40 }, (_, i) => `kjs-more-${i}`);
    await produce(topic, second);
    await untilSeen(second);
    await Promise.all(consumers.map((c) => c.disconnect()));
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(80);
  });
});

describe('raw requests', () => {
  let conn: RawConnection;

  function call<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>) {
    return conn.request(apiKey, version, body);
  }

  beforeAll(async () => {
    conn = await rawConnect(broker.port);
  });
  afterAll(() => conn.close());

  const protocols = [{ name: 'range', metadata: Buffer.from('0000' + '00000001' + '0001' + '74' + 'ffffffff', 'hex') }];
  const join = (memberId: string, groupInstanceId: string | null = null) => call(ApiKey.JoinGroup, 5, {
    groupId: 'g-raw', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId, protocolType: 'consumer', protocols,
  });
  const commit = (memberId: string, generationIdOrMemberEpoch: number, topic = 'groups-raw', groupInstanceId: string | null = null) =>
    call(ApiKey.OffsetCommit, 7, {
      groupId: 'g-raw', generationIdOrMemberEpoch, memberId, groupInstanceId,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
    }).then((r) => r.topics[0]!.partitions[0]!.errorCode);

  it('answers the coordinator and generation-fencing codes Kafka does', async () => {
    await createTopic('groups-raw', 1);
    const found = await call(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g-raw'] });
    expect(found.coordinators).toEqual([{ key: 'g-raw', nodeId: 1, host: '127.0.0.1', port: broker.port, errorCode: 0, errorMessage: null }]);
    const txn = await call(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['t'] });
    expect(txn.coordinators).toEqual([{ key: 't', nodeId: 1, host: '127.0.0.1', port: broker.port, errorCode: 0, errorMessage: null }]);
    const v0 = await call(ApiKey.FindCoordinator, 0, { key: 'g-raw' });
    expect(v0).toMatchObject({ errorCode: 0, nodeId: 1, port: broker.port });

    const first = await join('');
    expect(first.errorCode).toBe(79);
    const joined = await join(first.memberId);
    expect(joined).toMatchObject({ errorCode: 0, generationId: 1, leader: first.memberId, memberId: first.memberId });
    const me = first.memberId;
    const synced = await call(ApiKey.SyncGroup, 3, {
      groupId: 'g-raw', generationId: 1, memberId: me, groupInstanceId: null, assignments: [{ memberId: me, assignment: Buffer.from('a') }],
    });
    expect(synced).toMatchObject({ errorCode: 0 });
    expect(Buffer.from(synced.assignment).toString()).toBe('a');

    expect(await commit('ghost', 1)).toBe(25);
    expect(await commit(me, 0)).toBe(22);
    expect(await commit('', -1)).toBe(25);
    expect(await commit(me, 1, 'no-such-topic')).toBe(3);
    expect(await commit(me, 1)).toBe(0);
    expect((await call(ApiKey.Heartbeat, 3, { groupId: 'g-raw', generationId: 2, memberId: me, groupInstanceId: null })).errorCode).toBe(22);
    expect((await call(ApiKey.Heartbeat, 3, { groupId: 'g-raw', generationId: 1, memberId: me, groupInstanceId: null })).errorCode).toBe(0);

    const fetched = await call(ApiKey.OffsetFetch, 8, {
      groups: [{ groupId: 'g-raw', topics: [{ name: 'groups-raw', partitionIndexes: [0] }] }, { groupId: 'g-none', topics: null }], requireStable: true,
    });
    expect(fetched.groups).toEqual([
      { groupId: 'g-raw', errorCode: 0, topics: [{ name: 'groups-raw', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, metadata: 'm', errorCode: 0 }] }] },
      { groupId: 'g-none', errorCode: 0, topics: [] },
    ]);
    const described = await call(ApiKey.DescribeGroups, 4, { groups: ['g-raw'], includeAuthorizedOperations: false });
    expect(described.groups[0]).toMatchObject({ errorCode: 0, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect((await call(ApiKey.DeleteGroups, 1, { groupsNames: ['g-raw'] })).results).toEqual([{ groupId: 'g-raw', errorCode: 68 }]);

    const left = await call(ApiKey.LeaveGroup, 3, { groupId: 'g-raw', members: [{ memberId: me, groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }] });
    expect(left).toMatchObject({ errorCode: 0, members: [{ memberId: me, errorCode: 0 }, { memberId: 'ghost', errorCode: 25 }] });
    const listed = await call(ApiKey.ListGroups, 5, { statesFilter: ['empty'], typesFilter: ['Classic'] });
    expect(listed.groups).toContainEqual({ groupId: 'g-raw', protocolType: 'consumer', groupState: 'Empty', groupType: 'classic' });
    // With no members left, a commit outside group management is accepted.
    expect(await commit('', -1)).toBe(0);
    expect((await call(ApiKey.DeleteGroups, 1, { groupsNames: ['g-raw', 'g-none'] })).results)
      .toEqual([{ groupId: 'g-raw', errorCode: 0 }, { groupId: 'g-none', errorCode: 69 }]);
    const gone = await call(ApiKey.OffsetFetch, 5, { groupId: 'g-raw', topics: [{ name: 'groups-raw', partitionIndexes: [0] }], requireStable: false });
    expect(gone.topics![0]!.partitions[0]!.committedOffset).toBe(-1);
  });

  it('fences the old member id of a static member that rejoined', async () => {
    const a = await join('', 'inst-1');
    expect(a).toMatchObject({ errorCode: 0, generationId: 1 });
    await call(ApiKey.SyncGroup, 3, { groupId: 'g-raw', generationId: 1, memberId: a.memberId, groupInstanceId: 'inst-1', assignments: [] });
    const again = await join('', 'inst-1');
    expect(again).toMatchObject({ errorCode: 0, generationId: 1 });
    expect(again.memberId).not.toBe(a.memberId);
    expect((await call(ApiKey.Heartbeat, 3, { groupId: 'g-raw', generationId: 1, memberId: a.memberId, groupInstanceId: 'inst-1' })).errorCode).toBe(82);
    expect(await commit(a.memberId, 1, 'groups-raw', 'inst-1')).toBe(82);
    expect(await commit(again.memberId, 1, 'groups-raw', 'inst-1')).toBe(0);
    await call(ApiKey.LeaveGroup, 3, { groupId: 'g-raw', members: [{ memberId: '', groupInstanceId: 'inst-1' }] });
  });

  it('reports __consumer_offsets as an internal topic', async () => {
    const md = await call(ApiKey.Metadata, 9, { topics: [{ name: '__consumer_offsets', topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(md.topics[0]).toMatchObject({ name: '__consumer_offsets', isInternal: true, errorCode: 0 });
    expect(md.topics[0]!.partitions).toHaveLength(5);
  });
});

describe('broker restart', () => {
  it('a member carries on across it and the group resumes from its committed offsets', async () => {
    const topic = 'groups-restart';
    const group = 'g-restart';
    await createTopic(topic, 3);
    const first = Array.from({ length: 30 }, (_, i) => `r1-${i}`);
    await produce(topic, first);
    const c1 = LibrdkafkaConsumer.start('r1', broker.bootstrap, { topic, group });
    await untilAllConsumed([c1], first);
    await c1.close();
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(committed[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(30);
    // A session long enough to span the broker's restart, as a production setting would be.
    const c2 = LibrdkafkaConsumer.start('r2', broker.bootstrap, { topic, group, config: { 'session.timeout.ms': 20_000 } });
    await c2.until(() => c2.assignment.length === 3, 'r2 owning every partition');

    await Promise.all([admin.disconnect(), producer.disconnect()]);
    expect(await broker.stop()).toBe(0);
    expect(logLines(broker.output(), 'ERROR')).toEqual([]);
    broker = await startBroker({ overrides: BROKER_OVERRIDES, dataDir: broker.dataDir, port: broker.port });
    admin = kafka.admin();
    producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);

    expect(await admin.fetchOffsets({ groupId: group, topics: [topic] })).toEqual(committed);
    const described = await admin.describeGroups([group]);
    expect(described.groups[0]).toMatchObject({ state: 'Stable', protocol: 'range' });
    const second = Array.from({ length: 9 }, (_, i) => `r2-${i}`);
    await produce(topic, second);
    await untilAllConsumed([c2], second);
    expect(c2.records.map((r) => r.value).sort()).toEqual([...second].sort());
    await c2.close();
    const final = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(final[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0), `${JSON.stringify(final)} ${c2.errors.join('; ')}\n${broker.output().slice(-3000)}`).toBe(39);
  });
});
