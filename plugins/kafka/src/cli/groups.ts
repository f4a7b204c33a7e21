/**
 * `sluice groups`: list, describe (with lag), reset the offsets of, and delete consumer
 * groups, as kafka-consumer-groups.sh does.
 *
 * Lag is the partition's log end offset (ListOffsets latest, the high watermark) minus the
 * group's committed offset. Offsets are reset with a simple commit (generation -1, no
 * member id), which the coordinator accepts only while the group has no members; the
 * command checks the state first so that the refusal names the state, as Kafka's does.
 */
import { CliUsageError, parseArgs, type Args, type CliCommand, type CliIo } from '@sluice/sdk';
import { ApiKey, decodeConsumerProtocolAssignment, Reader } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError, REQUEST_TIMEOUT_MS } from './client.js';
import { errorName } from './error-names.js';
import { BOOTSTRAP_USAGE, bootstrap, single } from './options.js';

const usage = `Usage: sluice groups list [options]
       sluice groups describe <group> [options]
       sluice groups reset-offsets <group> (--topic T[:P,P...] ... | --all-topics)
                    (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO
                     | --shift-by N) [--dry-run | --execute] [options]
       sluice groups delete <group> [options]

Inspects and manages the consumer groups of a running broker over the Kafka protocol.

  list            Prints each group with its state, type and protocol type.
  describe        Prints a group's state and members (client id, host, assigned
                  partitions), then per partition the committed offset, the log end
                  offset and the lag, and the total lag.
  reset-offsets   Prints the offsets a reset would commit; commits them with --execute,
                  which needs the group to have no members (state Empty), as consumers
                  would otherwise overwrite them.
  delete          Deletes a group without members, with its committed offsets.

Options:
${BOOTSTRAP_USAGE}
  --topic T[:P,P...]             The topic to reset, all its partitions or those listed;
                                 may repeat (reset-offsets).
  --all-topics                   Every topic the group has committed offsets for.
  --to-earliest                  The oldest offset still in the log.
  --to-latest                    The log end offset.
  --to-offset N                  Offset N, clamped to the partition's earliest..latest.
  --to-datetime ISO              The first offset with a timestamp at or after ISO
                                 (e.g. 2024-05-01T12:00:00.000Z; local time without a
                                 zone); the log end offset when none is.
  --shift-by N                   The committed offset plus N (negative moves back),
                                 clamped to earliest..latest.
  --dry-run                      Print the plan only (the default).
  --execute                      Commit the plan.
  -h, --help                     Show this help.
`;

const EARLIEST = -2;
const LATEST = -1;
const NO_OFFSET = -1;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const LEADER_NOT_AVAILABLE = 5;
const GROUP_ID_NOT_FOUND = 69;
const CONSUMER_PROTOCOL_TYPE = 'consumer';
/** Later versions only append fields, so the newest known reads what is shown. */
const CONSUMER_ASSIGNMENT_MAX_VERSION = 3;
/** States in which a group has no members, so a simple commit is not overwritten (Dead: unknown to the broker). */
const INACTIVE_STATES = new Set(['Empty', 'Dead']);

const RESET_METHODS = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime', 'shift-by'] as const;
type ResetMethod = (typeof RESET_METHODS)[number];

interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;
const byTopicPartition = (a: TopicPartition, b: TopicPartition): number =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    io.stdout(usage);
    return 0;
  }
  if (action === undefined) throw new CliUsageError('expected list, describe, reset-offsets or delete');
  const args = parseArgs(rest, {
    values: ['bootstrap-server', 'topic', 'to-offset', 'to-datetime', 'shift-by'],
    flags: ['all-topics', 'to-earliest', 'to-latest', 'dry-run', 'execute'],
  });
  if (args.flags.has('help')) {
    io.stdout(usage);
    return 0;
  }
  const allowed: Record<string, readonly string[]> = {
    list: [], describe: [], delete: [],
    'reset-offsets': ['topic', 'all-topics', ...RESET_METHODS, 'dry-run', 'execute'],
  };
  const options = allowed[action];
  if (options === undefined) throw new CliUsageError(`unknown groups action ${action}`);
  for (const name of [...args.values.keys(), ...args.flags]) {
    if (name !== 'bootstrap-server' && !options.includes(name)) throw new CliUsageError(`groups ${action} takes no --${name}`);
  }
  if (action === 'list' && args.positionals.length > 0) throw new CliUsageError('groups list takes no group id');
  if (action !== 'list' && args.positionals.length !== 1) throw new CliUsageError(`groups ${action} takes one group id`);
  const group = args.positionals[0] ?? '';
  const reset = action === 'reset-offsets' ? resetOptions(args) : undefined;

  const client = new KafkaClient(bootstrap(args));
  try {
    switch (action) {
      case 'list':
        await list(client, io);
        return 0;
      case 'describe':
        await describe(client, group, io);
        return 0;
      case 'reset-offsets':
        await resetOffsets(client, group, reset!, io);
        return 0;
      default: {
        const coordinator = await client.groupCoordinator(group);
        const answer = await client.request(ApiKey.DeleteGroups, { groupsNames: [group] }, { nodeId: coordinator });
        const result = answer.results.find((r) => r.groupId === group);
        if (result === undefined) throw new Error(`the broker did not answer for group ${group}`);
        if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, `cannot delete group ${group}`);
        io.stdout(`Deleted group ${group}.\n`);
        return 0;
      }
    }
  } finally {
    client.close();
  }
}

/** Groups live on their coordinators, so every broker is asked. */
async function list(client: KafkaClient, io: CliIo): Promise<void> {
  const metadata = await client.metadata([]);
  const answers = await Promise.all(metadata.brokers.map((b) =>
    client.request(ApiKey.ListGroups, { statesFilter: [], typesFilter: [] }, { nodeId: b.nodeId })
      .then((answer) => ({ nodeId: b.nodeId, answer }))));
  const rows: string[][] = [];
  for (const { nodeId, answer } of answers) {
    if (answer.errorCode !== 0) throw new KafkaResponseError(answer.errorCode, `cannot list the groups of broker ${nodeId}`);
    for (const g of answer.groups) rows.push([g.groupId, g.groupState ?? '-', g.groupType ?? '-', g.protocolType || '-']);
  }
  rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  io.stdout(table(['GROUP', 'STATE', 'TYPE', 'PROTOCOL-TYPE'], rows));
}

interface GroupDescription {
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: ReadonlyArray<{
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly clientId: string;
    readonly clientHost: string;
    /** Null when the assignment is not in the consumer protocol's format. */
    readonly assignment: TopicPartition[] | null;
  }>;
}

async function describeGroup(client: KafkaClient, group: string, coordinator: number): Promise<GroupDescription> {
  const answer = await client.request(ApiKey.DescribeGroups, { groups: [group], includeAuthorizedOperations: false }, { nodeId: coordinator });
  const g = answer.groups.find((d) => d.groupId === group);
  if (g === undefined) throw new Error(`the broker did not describe group ${group}`);
  if (g.errorCode !== 0) throw new KafkaResponseError(g.errorCode, `cannot describe group ${group}`);
  return {
    state: g.groupState,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: g.protocolType === CONSUMER_PROTOCOL_TYPE ? consumerAssignment(m.memberAssignment) : null,
    })),
  };
}

function consumerAssignment(bytes: Uint8Array): TopicPartition[] | null {
  // Empty between a rebalance starting and the leader's SyncGroup.
  if (bytes.byteLength === 0) return [];
  try {
    const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const version = r.int16();
    if (version < 0) return null;
    return decodeConsumerProtocolAssignment(r, Math.min(version, CONSUMER_ASSIGNMENT_MAX_VERSION)).assignedPartitions
      .flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
  } catch {
    return null;
  }
}

/** The group's committed offsets: of `partitions`, or of every partition it has one for when null. */
async function committedOffsets(client: KafkaClient, group: string, coordinator: number,
  partitions: readonly TopicPartition[] | null): Promise<Map<string, TopicPartition & { offset: number }>> {
  let topics: Array<{ name: string; partitionIndexes: number[] }> | null = null;
  if (partitions !== null) {
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  }
  const answer = await client.request(ApiKey.OffsetFetch, {
    groups: [{ groupId: group, memberId: null, memberEpoch: -1, topics }], requireStable: false,
  }, { nodeId: coordinator });
  const g = answer.groups.find((x) => x.groupId === group);
  if (g === undefined) throw new Error(`the broker did not answer for the offsets of group ${group}`);
  if (g.errorCode !== 0) throw new KafkaResponseError(g.errorCode, `cannot fetch the offsets of group ${group}`);
  const out = new Map<string, TopicPartition & { offset: number }>();
  for (const t of g.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== 0) throw new KafkaResponseError(p.errorCode, `cannot fetch the offset of group ${group} for ${t.name}-${p.partitionIndex}`);
      if (p.committedOffset === NO_OFFSET) continue;
      const tp = { topic: t.name, partition: p.partitionIndex };
      out.set(key(tp), { ...tp, offset: p.committedOffset });
    }
  }
  return out;
}

type ListedOffset = { readonly offset: number } | { readonly errorCode: number };

/**
 * ListOffsets at `timestamp` (EARLIEST, LATEST or a time in ms) for each partition, asking
 * each partition's leader; a partition that cannot be answered carries its error code.
 */
async function listOffsets(client: KafkaClient, partitions: readonly TopicPartition[], timestamp: number): Promise<Map<string, ListedOffset>> {
  const out = new Map<string, ListedOffset>();
  const topics = [...new Set(partitions.map((tp) => tp.topic))];
  if (topics.length === 0) return out;
  const metadata = await client.metadata(topics);
  const byLeader = new Map<number, TopicPartition[]>();
  for (const tp of partitions) {
    const t = metadata.topics.find((m) => m.name === tp.topic);
    const p = t?.partitions.find((m) => m.partitionIndex === tp.partition);
    if (t === undefined || t.errorCode !== 0) out.set(key(tp), { errorCode: t?.errorCode ?? UNKNOWN_TOPIC_OR_PARTITION });
    else if (p === undefined) out.set(key(tp), { errorCode: UNKNOWN_TOPIC_OR_PARTITION });
    else if (p.leaderId < 0) out.set(key(tp), { errorCode: LEADER_NOT_AVAILABLE });
    else byLeader.set(p.leaderId, [...(byLeader.get(p.leaderId) ?? []), tp]);
  }
  await Promise.all([...byLeader].map(async ([leader, wanted]) => {
    const byTopic = new Map<string, number[]>();
    for (const tp of wanted) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    const answer = await client.request(ApiKey.ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [...byTopic].map(([name, ps]) => ({
        name, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
      })),
      timeoutMs: REQUEST_TIMEOUT_MS,
    }, { nodeId: leader });
    for (const t of answer.topics) {
      for (const p of t.partitions) {
        out.set(key({ topic: t.name, partition: p.partitionIndex }), p.errorCode === 0 ? { offset: p.offset } : { errorCode: p.errorCode });
      }
    }
  }));
  return out;
}

async function describe(client: KafkaClient, group: string, io: CliIo): Promise<void> {
  const coordinator = await client.groupCoordinator(group);
  const description = await describeGroup(client, group, coordinator);
  const committed = await committedOffsets(client, group, coordinator, null);
  if (description.state === 'Dead' && committed.size === 0) throw new KafkaResponseError(GROUP_ID_NOT_FOUND, `group ${group}`);

  const owner = new Map<string, string>();
  for (const m of description.members) for (const tp of m.assignment ?? []) owner.set(key(tp), m.memberId);
  const partitions = new Map<string, TopicPartition>();
  for (const m of description.members) for (const tp of m.assignment ?? []) partitions.set(key(tp), tp);
  for (const [k, c] of committed) partitions.set(k, { topic: c.topic, partition: c.partition });
  const sorted = [...partitions.values()].sort(byTopicPartition);
  const ends = await listOffsets(client, sorted, LATEST);

  const protocol = description.protocol === '' ? description.protocolType || '-' : `${description.protocolType}/${description.protocol}`;
  let out = `Group: ${group}\tState: ${description.state}\tProtocol: ${protocol}\tMembers: ${description.members.length}\n`;
  if (description.members.length > 0) {
    out += `\n${table(['MEMBER-ID', 'GROUP-INSTANCE-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'], description.members.map((m) => [
      m.memberId, m.groupInstanceId ?? '-', m.clientId, m.clientHost,
      m.assignment === null ? '(not a consumer assignment)' : formatAssignment(m.assignment),
    ]))}`;
  }
  let totalLag = 0;
  const rows = sorted.map((tp) => {
    const current = committed.get(key(tp))?.offset;
    const end = ends.get(key(tp));
    let endText = '-';
    let lag = '-';
    if (end !== undefined && 'offset' in end) {
      endText = String(end.offset);
      if (current !== undefined) {
        const l = Math.max(0, end.offset - current);
        totalLag += l;
        lag = String(l);
      }
    } else if (end !== undefined) {
      endText = errorName(end.errorCode);
    }
    return [tp.topic, String(tp.partition), current === undefined ? '-' : String(current), endText, lag, owner.get(key(tp)) ?? '-'];
  });
  if (rows.length > 0) out += `\n${table(['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'MEMBER-ID'], rows)}`;
  out += `\nTotal lag: ${totalLag}\n`;
  io.stdout(out);
}

function formatAssignment(assignment: readonly TopicPartition[]): string {
  if (assignment.length === 0) return '-';
  const byTopic = new Map<string, number[]>();
  for (const tp of [...assignment].sort(byTopicPartition)) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  return [...byTopic].map(([topic, ps]) => `${topic}:${ps.join(',')}`).join(' ');
}

interface ResetOptions {
  /** Topic with the partitions given, or null for all of them; null for --all-topics. */
  readonly topics: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly number[] | null }> | null;
  readonly method: ResetMethod;
  /** The offset, time in ms or shift the method takes. */
  readonly value: number;
  readonly execute: boolean;
}

function resetOptions(args: Args): ResetOptions {
  const methods = RESET_METHODS.filter((m) => args.flags.has(m) || args.values.has(m));
  if (methods.length !== 1) {
    throw new CliUsageError('reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by');
  }
  const method = methods[0]!;
  if (args.flags.has('dry-run') && args.flags.has('execute')) throw new CliUsageError('--dry-run and --execute exclude each other');
  const topicSpecs = args.values.get('topic') ?? [];
  if (topicSpecs.length === 0 && !args.flags.has('all-topics')) throw new CliUsageError('reset-offsets needs --topic or --all-topics');
  if (topicSpecs.length > 0 && args.flags.has('all-topics')) throw new CliUsageError('--topic and --all-topics exclude each other');
  const topics = topicSpecs.length === 0 ? null : topicSpecs.map((spec) => {
    const colon = spec.lastIndexOf(':');
    if (colon < 0) return { topic: spec, partitions: null };
    const partitions = spec.slice(colon + 1).split(',').map((p) => {
      if (!/^\d+$/.test(p) || Number(p) > 2 ** 31 - 1) throw new CliUsageError(`--topic expects topic or topic:partition,partition..., got ${spec}`);
      return Number(p);
    });
    return { topic: spec.slice(0, colon), partitions };
  });
  let value = 0;
  const text = method === 'to-earliest' || method === 'to-latest' ? undefined : single(args, method)!;
  if (method === 'to-datetime') {
    value = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/.test(text!) ? Date.parse(text!) : NaN;
    if (!Number.isFinite(value) || value < 0) throw new CliUsageError(`--to-datetime expects an ISO 8601 time such as 2024-05-01T12:00:00.000Z, got ${text}`);
  } else if (text !== undefined) {
    value = Number(text);
    const min = method === 'to-offset' ? 0 : Number.MIN_SAFE_INTEGER;
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
      throw new CliUsageError(`--${method} expects ${method === 'to-offset' ? 'an offset' : 'an integer'}, got ${text}`);
    }
  }
  return { topics, method, value, execute: args.flags.has('execute') };
}

async function resetOffsets(client: KafkaClient, group: string, opts: ResetOptions, io: CliIo): Promise<void> {
  const coordinator = await client.groupCoordinator(group);
  const { state } = await describeGroup(client, group, coordinator);
  if (opts.execute && !INACTIVE_STATES.has(state)) {
    throw new Error(`cannot reset the offsets of group ${group}: it has active members (state ${state}); ` +
      'offsets can only be reset while the group is Empty');
  }

  let partitions: TopicPartition[];
  if (opts.topics === null) {
    partitions = [...(await committedOffsets(client, group, coordinator, null)).values()].map((c) => ({ topic: c.topic, partition: c.partition }));
  } else {
    const metadata = await client.metadata(opts.topics.map((t) => t.topic));
    partitions = opts.topics.flatMap(({ topic, partitions: wanted }) => {
      const t = metadata.topics.find((m) => m.name === topic);
      if (t === undefined) throw new Error(`the broker did not describe topic ${topic}`);
      if (t.errorCode !== 0) throw new KafkaResponseError(t.errorCode, `topic ${topic}`);
      const existing = t.partitions.map((p) => p.partitionIndex);
      const missing = (wanted ?? []).find((p) => !existing.includes(p));
      if (missing !== undefined) throw new Error(`topic ${topic} has no partition ${missing} (it has ${existing.length})`);
      return (wanted ?? existing).map((partition) => ({ topic, partition }));
    });
  }
  partitions = [...new Map(partitions.map((tp) => [key(tp), tp])).values()].sort(byTopicPartition);
  if (partitions.length === 0) throw new Error(`group ${group} has no committed offsets to reset`);

  const current = await committedOffsets(client, group, coordinator, partitions);
  const [earliest, latest] = await Promise.all([listOffsets(client, partitions, EARLIEST), listOffsets(client, partitions, LATEST)]);
  const atTime = opts.method === 'to-datetime' ? await listOffsets(client, partitions, opts.value) : undefined;
  const offsetOf = (listed: Map<string, ListedOffset>, tp: TopicPartition, what: string): number => {
    const r = listed.get(key(tp));
    if (r === undefined) throw new Error(`the broker did not list the ${what} offset of ${tp.topic}-${tp.partition}`);
    if ('errorCode' in r) throw new KafkaResponseError(r.errorCode, `${what} offset of ${tp.topic}-${tp.partition}`);
    return r.offset;
  };
  const plan = partitions.map((tp) => {
    const low = offsetOf(earliest, tp, 'earliest');
    const high = offsetOf(latest, tp, 'latest');
    const clamp = (o: number): number => Math.min(high, Math.max(low, o));
    const committed = current.get(key(tp))?.offset;
    let target: number;
    switch (opts.method) {
      case 'to-earliest': target = low; break;
      case 'to-latest': target = high; break;
      case 'to-offset': target = clamp(opts.value); break;
      case 'to-datetime': {
        const found = offsetOf(atTime!, tp, 'timestamp');
        // No record at or after the time: Kafka's tool then goes to the end.
        target = found === NO_OFFSET ? high : found;
        break;
      }
      default:
        if (committed === undefined) throw new Error(`cannot shift ${tp.topic}-${tp.partition}: group ${group} has no committed offset for it`);
        target = clamp(committed + opts.value);
    }
    return { ...tp, committed, target };
  });

  io.stdout(table(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], plan.map((p) => [
    group, p.topic, String(p.partition), p.committed === undefined ? '-' : String(p.committed), String(p.target),
  ])));
  if (!opts.execute) {
    io.stderr('Dry run: no offsets were changed; --execute commits them.\n');
    return;
  }
  const byTopic = new Map<string, typeof plan>();
  for (const p of plan) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
  const answer = await client.request(ApiKey.OffsetCommit, {
    groupId: group,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [...byTopic].map(([name, ps]) => ({
      name,
      partitions: ps.map((p) => ({ partitionIndex: p.partition, committedOffset: p.target, committedLeaderEpoch: -1, committedMetadata: '' })),
    })),
  }, { nodeId: coordinator });
  const failed = answer.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, ...p }))).filter((p) => p.errorCode !== 0);
  if (failed.length > 0) {
    const first = failed[0]!;
    throw new KafkaResponseError(first.errorCode,
      `cannot commit the offsets of group ${group} (${failed.length} of ${plan.length} partitions failed, the first ${first.topic}-${first.partitionIndex})`);
  }
  io.stderr(`Committed the new offsets of ${plan.length} partitions for group ${group}.\n`);
}

/** Columns padded to their widest cell, two spaces apart, the last one unpadded. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export const groupsCommand: CliCommand = { name: 'groups', summary: 'List, describe (with lag), reset the offsets of, or delete consumer groups', usage, run };
