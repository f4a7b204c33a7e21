/**
 * `sluice partitions elect-leaders`: preferred or unclean leader election through the
 * ElectLeaders API, as kafka-leader-election.sh runs it. A preferred election moves a
 * partition's leadership back to its first replica when that replica is in the ISR (after
 * a restart left the leaderships on the other brokers); an unclean one gives an offline
 * partition a leader from outside the ISR, accepting the loss of what only the old ISR had.
 *
 * `sluice partitions reassign` (partitions-reassign.ts) moves partitions to new replicas.
 */
import { CliUsageError, parseArgs, type CliCommand, type CliIo } from '@sluice/sdk';
import { ApiKey } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError, REQUEST_TIMEOUT_MS } from './client.js';
import { describeQuorum } from './cluster-queries.js';
import { errorName } from './error-names.js';
import { BOOTSTRAP_USAGE, bootstrap, integer, single } from './options.js';
import { reassignUsage, runReassign } from './partitions-reassign.js';

const electUsage = `Usage: sluice partitions elect-leaders --election-type preferred|unclean
                     (--topic T --partition P | --all-topic-partitions) [--json] [options]

Elects partition leaders over the Kafka protocol, as kafka-leader-election.sh does.

  preferred   Makes each partition's preferred replica (the first of its replicas) the
              leader, if it is in sync and not already leading.
  unclean     Gives a partition without a leader one from outside the in-sync replicas:
              records only the lost in-sync replicas had are gone for good.

Options:
${BOOTSTRAP_USAGE}
  --election-type TYPE           preferred or unclean.
  --topic T                      The partition's topic (with --partition).
  --partition P                  The partition (with --topic).
  --all-topic-partitions         Every partition of every topic.
  --json                         One JSON document on stdout, for scripts.
  -h, --help                     Show this help.
`;

const usage = `${electUsage}\n${reassignUsage}`;

const ELECTION_TYPES = { preferred: 0, unclean: 1 } as const;
/** The partition already has the leader asked for: not a failure (Kafka's tool says so too). */
const ELECTION_NOT_NEEDED = 84;
const NOT_CONTROLLER = 41;

export interface ElectionResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    io.stdout(usage);
    return 0;
  }
  if (action === 'reassign') return runReassign(rest, io);
  if (action !== 'elect-leaders') {
    throw new CliUsageError(action === undefined ? 'expected elect-leaders or reassign' : `unknown partitions action ${action}`);
  }
  const args = parseArgs(rest, { values: ['bootstrap-server', 'election-type', 'topic', 'partition'], flags: ['all-topic-partitions', 'json'] });
  if (args.flags.has('help')) {
    io.stdout(electUsage);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliUsageError('partitions elect-leaders takes no positional argument');
  const typeName = single(args, 'election-type')?.toLowerCase();
  if (typeName === undefined) throw new CliUsageError('--election-type is required: preferred or unclean');
  if (typeName !== 'preferred' && typeName !== 'unclean') throw new CliUsageError(`--election-type must be preferred or unclean, got ${typeName}`);
  const topic = single(args, 'topic');
  const partition = integer(args, 'partition', 0, 0x7fffffff);
  const all = args.flags.has('all-topic-partitions');
  if (all && (topic !== undefined || partition !== undefined)) throw new CliUsageError('--all-topic-partitions takes no --topic or --partition');
  if (!all && (topic === undefined || partition === undefined)) {
    throw new CliUsageError('give --topic and --partition, or --all-topic-partitions');
  }

  const client = new KafkaClient(bootstrap(args));
  try {
    const results = await electLeaders(client, ELECTION_TYPES[typeName], all ? null : [{ topic: topic!, partitions: [partition!] }]);
    const failed = results.filter((r) => r.errorCode !== 0 && r.errorCode !== ELECTION_NOT_NEEDED);
    io.stdout(args.flags.has('json') ? `${JSON.stringify({ electionType: typeName, results }, null, 2)}\n` : renderElection(typeName, results));
    if (failed.length > 0) {
      io.stderr(`error: ${failed.length} replica(s) could not be elected\n`);
      return 1;
    }
    return 0;
  } finally {
    client.close();
  }
}

/**
 * One ElectLeaders request; `partitions` null elects over every partition. A node that is
 * not the active controller and does not forward answers NOT_CONTROLLER: the request goes
 * again to the quorum leader, which is the active controller.
 */
export async function electLeaders(
  client: KafkaClient,
  electionType: number,
  partitions: Array<{ topic: string; partitions: number[] }> | null,
): Promise<ElectionResult[]> {
  const request = { electionType, topicPartitions: partitions, timeoutMs: REQUEST_TIMEOUT_MS };
  // The broker waits up to timeoutMs for the elections; the answer may take that long.
  let answer = await client.request(ApiKey.ElectLeaders, request, { timeoutMs: REQUEST_TIMEOUT_MS * 2 });
  if (answer.errorCode === NOT_CONTROLLER) {
    const controller = (await describeQuorum(client)).leaderId;
    await client.metadata([]);
    answer = await client.request(ApiKey.ElectLeaders, request, { nodeId: controller, timeoutMs: REQUEST_TIMEOUT_MS * 2 });
  }
  if (answer.errorCode !== 0) throw new KafkaResponseError(answer.errorCode, 'ElectLeaders');
  return answer.replicaElectionResults
    .flatMap((t) => t.partitionResult.map((p) => ({ topic: t.topic, partition: p.partitionId, errorCode: p.errorCode, errorMessage: p.errorMessage })))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** kafka-leader-election.sh's lines: elected, already elected, failed with the error's name. */
export function renderElection(typeName: string, results: readonly ElectionResult[]): string {
  const type = typeName.toUpperCase();
  const name = (r: ElectionResult): string => `${r.topic}-${r.partition}`;
  const done = results.filter((r) => r.errorCode === 0).map(name);
  const notNeeded = results.filter((r) => r.errorCode === ELECTION_NOT_NEEDED).map(name);
  const failed = results.filter((r) => r.errorCode !== 0 && r.errorCode !== ELECTION_NOT_NEEDED);
  const out: string[] = [];
  if (done.length > 0) out.push(`Successfully completed leader election (${type}) for partitions ${done.join(', ')}\n`);
  if (notNeeded.length > 0) out.push(`Valid replica already elected for partitions ${notNeeded.join(', ')}\n`);
  for (const r of failed) {
    out.push(`Error completing leader election (${type}) for partition: ${name(r)}: ${errorName(r.errorCode)}${r.errorMessage ? ` (${r.errorMessage})` : ''}\n`);
  }
  if (out.length === 0) out.push(`No partition needed a leader election (${type})\n`);
  return out.join('');
}

export const partitionsCommand: CliCommand = { name: 'partitions', summary: 'Elect partition leaders (preferred or unclean), reassign partitions', usage, run };
