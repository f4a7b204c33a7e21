/**
 * `sluice partitions reassign`: moves partitions to new replica sets through
 * AlterPartitionReassignments and follows them with ListPartitionReassignments, as
 * kafka-reassign-partitions.sh does with the same JSON file
 * ({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}).
 *
 * --execute starts the moves (printing the current assignment, the file to roll back
 * with), --verify says per partition whether its move completed, --cancel stops the moves
 * still in progress (their replicas go back to the old set), --list shows every move in
 * progress. Throttling is the brokers' `follower.replication.throttled.rate` with the
 * topics' `follower.replication.throttled.replicas`, set as configs (there is no --throttle).
 */
import { readFile } from 'node:fs/promises';
import { CliUsageError, parseArgs, type CliIo } from '@sluice/sdk';
import { ApiKey, type Decoded, type RequestOf, type ResponseOf } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError, REQUEST_TIMEOUT_MS } from './client.js';
import { describeQuorum } from './cluster-queries.js';
import { errorName } from './error-names.js';
import { BOOTSTRAP_USAGE, bootstrap, single } from './options.js';

export const reassignUsage = `Usage: sluice partitions reassign --reassignment-json-file FILE (--execute | --verify | --cancel) [options]
       sluice partitions reassign --list [options]

Moves partitions to new replica sets over the Kafka protocol, as kafka-reassign-partitions.sh
does. FILE is {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}.

  --execute   Starts the reassignments; prints the current assignment to roll back with.
  --verify    Says whether each partition's reassignment completed (exit 1 if one is
              still in progress or failed).
  --cancel    Cancels the reassignments still in progress: the partitions go back to
              the replicas they had.
  --list      Lists every reassignment in progress.

Options:
${BOOTSTRAP_USAGE}
  --reassignment-json-file FILE  The partitions and their target replicas.
  -h, --help                     Show this help.
`;

const NOT_CONTROLLER = 41;
const NO_REASSIGNMENT_IN_PROGRESS = 85;
const REASSIGNMENT_FILE_VERSION = 1;
const INT32_MAX = 0x7fffffff;

export interface PartitionTarget {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

export interface OngoingReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/** kafka-reassign-partitions.sh's reassignment file, checked: each partition once, replicas distinct broker ids. */
export function parseReassignmentJson(text: string): PartitionTarget[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliUsageError(`the reassignment file is not JSON: ${(err as Error).message}`);
  }
  const root = doc as { version?: unknown; partitions?: unknown };
  if (typeof doc !== 'object' || doc === null || !Array.isArray(root.partitions)) {
    throw new CliUsageError('the reassignment file needs a "partitions" array');
  }
  if (root.version !== undefined && root.version !== REASSIGNMENT_FILE_VERSION) {
    throw new CliUsageError(`reassignment file version ${String(root.version)} is not supported (1 is)`);
  }
  const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= INT32_MAX;
  const seen = new Set<string>();
  const out = (root.partitions as unknown[]).map((entry, i): PartitionTarget => {
    const e = entry as { topic?: unknown; partition?: unknown; replicas?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.topic !== 'string' || e.topic === '' || !isId(e.partition)) {
      throw new CliUsageError(`partitions[${i}] needs a "topic" and a "partition"`);
    }
    if (!Array.isArray(e.replicas) || e.replicas.length === 0 || !e.replicas.every(isId)) {
      throw new CliUsageError(`partitions[${i}] (${e.topic}-${e.partition}) needs "replicas", a non-empty list of broker ids`);
    }
    if (new Set(e.replicas).size !== e.replicas.length) throw new CliUsageError(`partitions[${i}] (${e.topic}-${e.partition}) names a broker twice`);
    const key = `${e.topic}-${e.partition}`;
    if (seen.has(key)) throw new CliUsageError(`partition ${key} appears twice in the reassignment file`);
    seen.add(key);
    return { topic: e.topic, partition: e.partition, replicas: e.replicas as number[] };
  });
  if (out.length === 0) throw new CliUsageError('the reassignment file lists no partition');
  return out;
}

export async function runReassign(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ['bootstrap-server', 'reassignment-json-file'], flags: ['execute', 'verify', 'cancel', 'list'] });
  if (args.flags.has('help')) {
    io.stdout(reassignUsage);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliUsageError('partitions reassign takes no positional argument');
  const modes = (['execute', 'verify', 'cancel', 'list'] as const).filter((m) => args.flags.has(m));
  if (modes.length !== 1) throw new CliUsageError('give exactly one of --execute, --verify, --cancel, --list');
  const mode = modes[0]!;
  const file = single(args, 'reassignment-json-file');
  if (mode !== 'list' && file === undefined) throw new CliUsageError(`--${mode} needs --reassignment-json-file`);
  const targets = file === undefined ? [] : parseReassignmentJson(await readFile(file, 'utf8'));

  const client = new KafkaClient(bootstrap(args));
  try {
    switch (mode) {
      case 'list': {
        io.stdout(renderOngoing(await listReassignments(client, null)));
        return 0;
      }
      case 'execute': {
        const current = await currentAssignment(client, targets);
        io.stdout(`Current partition replica assignment\n\n${JSON.stringify({ version: REASSIGNMENT_FILE_VERSION, partitions: current })}\n\n`
          + 'Save this to use as the --reassignment-json-file option during rollback\n');
        return report(io, await alterReassignments(client, targets.map((t) => ({ ...t, replicas: [...t.replicas] }))), 'started');
      }
      case 'cancel': {
        const results = await alterReassignments(client, targets.map((t) => ({ topic: t.topic, partition: t.partition, replicas: null })));
        // A partition whose move already completed has nothing to cancel: not a failure.
        return report(io, results.filter((r) => r.errorCode !== NO_REASSIGNMENT_IN_PROGRESS), 'cancelled');
      }
      case 'verify': {
        const ongoing = await listReassignments(client, targets);
        const current = await currentAssignment(client, targets);
        const { text, done } = renderVerify(targets, ongoing, current);
        io.stdout(text);
        return done ? 0 : 1;
      }
    }
  } finally {
    client.close();
  }
}

interface PartitionError {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

function report(io: CliIo, results: readonly PartitionError[], verb: 'started' | 'cancelled'): number {
  const ok = results.filter((r) => r.errorCode === 0).map((r) => `${r.topic}-${r.partition}`);
  const failed = results.filter((r) => r.errorCode !== 0);
  if (ok.length > 0) io.stdout(`Successfully ${verb} partition reassignment${ok.length > 1 ? 's' : ''} for ${ok.join(',')}\n`);
  for (const r of failed) {
    io.stderr(`error: ${r.topic}-${r.partition}: ${errorName(r.errorCode)}${r.errorMessage ? ` (${r.errorMessage})` : ''}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

/** kafka-reassign-partitions.sh --verify's lines; `done` when every partition has its target replicas and no move is in progress. */
export function renderVerify(
  targets: readonly PartitionTarget[], ongoing: readonly OngoingReassignment[], current: readonly PartitionTarget[],
): { text: string; done: boolean } {
  const lines = ['Status of partition reassignment:'];
  let done = true;
  for (const t of targets) {
    const name = `${t.topic}-${t.partition}`;
    const now = current.find((c) => c.topic === t.topic && c.partition === t.partition);
    if (ongoing.some((o) => o.topic === t.topic && o.partition === t.partition)) {
      lines.push(`Reassignment of partition ${name} is still in progress.`);
      done = false;
    } else if (now !== undefined && now.replicas.join(',') === t.replicas.join(',')) {
      lines.push(`Reassignment of partition ${name} is completed.`);
    } else {
      lines.push(`There is no active reassignment of partition ${name}, but replica set is ${now?.replicas.join(',') ?? 'unknown'} rather than ${t.replicas.join(',')}.`);
      done = false;
    }
  }
  return { text: `${lines.join('\n')}\n`, done };
}

export function renderOngoing(ongoing: readonly OngoingReassignment[]): string {
  if (ongoing.length === 0) return 'No partition reassignments found.\n';
  const lines = ongoing.map((o) => `${o.topic}-${o.partition}: replicas: ${o.replicas.join(',')}. adding: ${o.addingReplicas.join(',')}. `
    + `removing: ${o.removingReplicas.join(',')}.`);
  return `Current partition reassignments:\n${lines.join('\n')}\n`;
}

/** The partitions' replicas now, from Metadata. */
async function currentAssignment(client: KafkaClient, targets: readonly PartitionTarget[]): Promise<PartitionTarget[]> {
  const metadata = await client.metadata([...new Set(targets.map((t) => t.topic))]);
  return targets.flatMap((t) => {
    const p = metadata.topics.find((m) => m.name === t.topic)?.partitions.find((x) => x.partitionIndex === t.partition);
    return p === undefined ? [] : [{ topic: t.topic, partition: t.partition, replicas: [...p.replicaNodes] }];
  });
}

async function alterReassignments(
  client: KafkaClient, partitions: ReadonlyArray<{ topic: string; partition: number; replicas: number[] | null }>,
): Promise<PartitionError[]> {
  const topics = [...new Set(partitions.map((p) => p.topic))].map((name) => ({
    name, partitions: partitions.filter((p) => p.topic === name).map((p) => ({ partitionIndex: p.partition, replicas: p.replicas })),
  }));
  const answer = await toController(client, ApiKey.AlterPartitionReassignments, { timeoutMs: REQUEST_TIMEOUT_MS, topics });
  if (answer.errorCode !== 0) throw new KafkaResponseError(answer.errorCode, `AlterPartitionReassignments${answer.errorMessage ? `: ${answer.errorMessage}` : ''}`);
  return answer.responses.flatMap((t) => t.partitions.map((p) => ({
    topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage,
  })));
}

async function listReassignments(client: KafkaClient, targets: readonly PartitionTarget[] | null): Promise<OngoingReassignment[]> {
  const topics = targets === null ? null : [...new Set(targets.map((t) => t.topic))].map((name) => ({
    name, partitionIndexes: targets.filter((t) => t.topic === name).map((t) => t.partition),
  }));
  const answer = await toController(client, ApiKey.ListPartitionReassignments, { timeoutMs: REQUEST_TIMEOUT_MS, topics });
  if (answer.errorCode !== 0) throw new KafkaResponseError(answer.errorCode, `ListPartitionReassignments${answer.errorMessage ? `: ${answer.errorMessage}` : ''}`);
  return answer.topics.flatMap((t) => t.partitions.map((p) => ({
    topic: t.name, partition: p.partitionIndex, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas,
  })));
}

/** A request only the active controller answers: sent again to the quorum leader when the bootstrap node is not it. */
async function toController<K extends typeof ApiKey.AlterPartitionReassignments | typeof ApiKey.ListPartitionReassignments>(
  client: KafkaClient, apiKey: K, body: RequestOf<K>,
): Promise<Decoded<ResponseOf<K>>> {
  const answer = await client.request(apiKey, body, { timeoutMs: REQUEST_TIMEOUT_MS * 2 });
  if (answer.errorCode !== NOT_CONTROLLER) return answer;
  const controller = (await describeQuorum(client)).leaderId;
  await client.metadata([]);
  return client.request(apiKey, body, { nodeId: controller, timeoutMs: REQUEST_TIMEOUT_MS * 2 });
}
