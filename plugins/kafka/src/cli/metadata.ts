/**
 * `sluice metadata quorum describe|add-controller|remove-controller`: the metadata quorum as
 * kafka-metadata-quorum.sh shows and changes it. `describe --status` is the quorum's summary
 * (leader, epoch, high watermark, the furthest-behind voter's lag, the voters with their
 * endpoints, the observers); `describe --replication` one row per voter and observer with
 * its log end offset, its lag behind the leader and when it last fetched and was last caught
 * up. `add-controller` makes a running controller that is not a voter yet (an observer of the
 * metadata log) a voter; `remove-controller` takes a voter out (KIP-853, see quorum-voters.ts).
 */
import { readFileSync } from 'node:fs';
import { CliUsageError, parseArgs, type Args, type CliCommand, type CliIo } from '@sluice/sdk';
import { uuidFromString, ZERO_UUID } from '../protocol/index.js';
import { KafkaClient } from './client.js';
import type { QuorumStatus } from './cluster-health.js';
import { bootstrapController, CONTROLLER_USAGE } from './cluster-options.js';
import { describeCluster, describeQuorum } from './cluster-queries.js';
import { nodeList, table, timestamp } from './cluster-table.js';
import { newControllerOf } from './controller-properties.js';
import { BOOTSTRAP_USAGE, bootstrap, integer, single } from './options.js';
import { addController, removeController } from './quorum-voters.js';

const NODE_ID_MAX = 2 ** 31 - 1;

const usage = `Usage: sluice metadata quorum describe (--status | --replication) [--human-readable] [--json] [options]
       sluice metadata quorum add-controller --config <server.properties> [options]
       sluice metadata quorum remove-controller --controller-id <id> [--controller-directory-id <uuid>] [options]

Describes and changes the metadata quorum (the Raft log __cluster_metadata) over the Kafka
protocol, as kafka-metadata-quorum.sh does.

describe:
  --status           Cluster id, leader, leader epoch, high watermark, the largest
                     follower lag (entries and ms), the voters (with their endpoints
                     when the quorum records them) and the observers.
  --replication      Per voter and observer: log end offset, lag behind the leader, last
                     fetch and last caught-up times (leader wall clock), status.
  --human-readable   Times as "N ms ago" instead of epoch milliseconds (--replication).
  --json             One JSON document on stdout, for scripts.

add-controller: makes the node a voter. The node must run with the controller role and
have caught up with the metadata log (it shows as an observer in describe --status).
  --config <file>    The new node's server.properties: its node.id, its controller
                     listeners (advertised.listeners first, else listeners, named by
                     controller.listener.names) and the directory.id in the meta.properties
                     of its metadata log dir. Relative dirs resolve against the current
                     directory.

remove-controller: takes a voter out of the quorum (the node keeps running as an observer
until it is stopped).
  --controller-id <id>              The voter's node id.
  --controller-directory-id <uuid>  Its metadata log dir's directory.id; any when omitted.

Both changes go to the quorum leader (found with DescribeQuorum), which answers once the
new voter set is committed; only one change can be in progress at a time.

Options:
${BOOTSTRAP_USAGE}
${CONTROLLER_USAGE}
  -h, --help         Show this help.
`;

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [noun, verb, ...rest] = argv;
  if (noun === '--help' || noun === '-h' || verb === '--help' || verb === '-h') {
    io.stdout(usage);
    return 0;
  }
  if (noun !== 'quorum' || (verb !== 'describe' && verb !== 'add-controller' && verb !== 'remove-controller')) {
    throw new CliUsageError('expected quorum describe, quorum add-controller or quorum remove-controller');
  }
  if (verb === 'describe') return describe(rest, io);
  const args = parseArgs(rest, { values: ['bootstrap-server', 'bootstrap-controller', 'config', 'controller-id', 'controller-directory-id'] });
  if (args.flags.has('help')) {
    io.stdout(usage);
    return 0;
  }
  const change = voterChange(verb, args);
  const client = new KafkaClient(quorumAddress(args));
  try {
    io.stdout(change.kind === 'add'
      ? await addController(client, newControllerOf(readConfig(change.config), readIfExists, process.cwd()))
      : await removeController(client, change.voterId, change.directoryId));
    return 0;
  } finally {
    client.close();
  }
}

export type VoterChange =
  | { readonly kind: 'add'; readonly config: string }
  | { readonly kind: 'remove'; readonly voterId: number; readonly directoryId: Uint8Array };

/** The change `add-controller` or `remove-controller` asks for, its options checked. */
export function voterChange(verb: 'add-controller' | 'remove-controller', args: Args): VoterChange {
  if (args.positionals.length > 0) throw new CliUsageError(`metadata quorum ${verb} takes no positional argument`);
  quorumAddress(args);
  if (verb === 'add-controller') {
    if (args.values.has('controller-id') || args.values.has('controller-directory-id')) {
      throw new CliUsageError('add-controller reads the node id and directory id from --config');
    }
    const config = single(args, 'config');
    if (config === undefined) throw new CliUsageError('add-controller needs --config <server.properties of the new controller>');
    return { kind: 'add', config };
  }
  if (args.values.has('config')) throw new CliUsageError('remove-controller takes --controller-id, not --config');
  const voterId = integer(args, 'controller-id', 0, NODE_ID_MAX);
  if (voterId === undefined) throw new CliUsageError('remove-controller needs --controller-id <id>');
  const directoryIdText = single(args, 'controller-directory-id');
  let directoryId = ZERO_UUID;
  if (directoryIdText !== undefined) {
    try {
      directoryId = uuidFromString(directoryIdText);
    } catch {
      throw new CliUsageError(`--controller-directory-id: "${directoryIdText}" is not a directory id (22 characters of base64url)`);
    }
  }
  return { kind: 'remove', voterId, directoryId };
}

/** The node to ask: --bootstrap-controller or --bootstrap-server, not both. */
function quorumAddress(args: Args): string {
  const controller = bootstrapController(args);
  if (controller !== undefined && args.values.has('bootstrap-server')) {
    throw new CliUsageError('give one of --bootstrap-server and --bootstrap-controller');
  }
  return controller ?? bootstrap(args);
}

function readConfig(file: string): string {
  try {
    return readFileSync(file, 'latin1');
  } catch (e) {
    throw new Error(`cannot read --config ${file}: ${(e as Error).message}`);
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function describe(rest: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(rest, { values: ['bootstrap-server', 'bootstrap-controller'], flags: ['status', 'replication', 'human-readable', 'json'] });
  if (args.flags.has('help')) {
    io.stdout(usage);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliUsageError('metadata quorum describe takes no positional argument');
  const status = args.flags.has('status');
  if (status === args.flags.has('replication')) throw new CliUsageError('give one of --status and --replication');
  if (status && args.flags.has('human-readable')) throw new CliUsageError('--human-readable goes with --replication');
  const controller = bootstrapController(args);
  const client = new KafkaClient(quorumAddress(args));
  try {
    const quorum = await describeQuorum(client);
    const json = args.flags.has('json');
    if (status) {
      const cluster = await describeCluster(client, controller === undefined ? 'brokers' : 'controllers');
      io.stdout(json ? `${JSON.stringify(statusJson(cluster.clusterId, quorum), null, 2)}\n` : renderQuorumStatus(cluster.clusterId, quorum));
    } else {
      io.stdout(json ? `${JSON.stringify(replicationRows(quorum), null, 2)}\n` : renderReplication(quorum, args.flags.has('human-readable'), Date.now()));
    }
    return 0;
  } finally {
    client.close();
  }
}

function statusJson(clusterId: string, q: QuorumStatus): object {
  return {
    clusterId, leaderId: q.leaderId, leaderEpoch: q.leaderEpoch, highWatermark: q.highWatermark,
    maxFollowerLag: q.maxFollowerLag, maxFollowerLagTimeMs: q.maxFollowerLagTimeMs,
    currentVoters: q.voters.map((v) => v.nodeId), currentObservers: q.observers.map((o) => o.nodeId),
    voterEndpoints: Object.fromEntries(q.voters.filter((v) => v.endpoints !== undefined).map((v) => [v.nodeId, v.endpoints])),
  };
}

export function renderQuorumStatus(clusterId: string, q: QuorumStatus): string {
  return [
    ['ClusterId:', clusterId],
    ['LeaderId:', String(q.leaderId)],
    ['LeaderEpoch:', String(q.leaderEpoch)],
    ['HighWatermark:', String(q.highWatermark)],
    ['MaxFollowerLag:', String(q.maxFollowerLag)],
    ['MaxFollowerLagTimeMs:', String(q.maxFollowerLagTimeMs)],
    ['CurrentVoters:', voterList(q.voters)],
    ['CurrentObservers:', nodeList(q.observers.map((o) => o.nodeId))],
  ].map(([k, v]) => `${k!.padEnd(24)}${v}\n`).join('');
}

/**
 * The voters as ids, or, when the quorum reports their endpoints (a voter set in the log),
 * as kafka-metadata-quorum.sh prints them: `[{"id": 1, "endpoints": ["CONTROLLER://host:9093"]}, ...]`.
 */
function voterList(voters: QuorumStatus['voters']): string {
  if (voters.every((v) => v.endpoints === undefined)) return nodeList(voters.map((v) => v.nodeId));
  const entries = voters.map((v) => v.endpoints === undefined
    ? `{"id": ${v.nodeId}}`
    : `{"id": ${v.nodeId}, "endpoints": [${v.endpoints.map((e) => JSON.stringify(e)).join(', ')}]}`);
  return `[${entries.join(', ')}]`;
}

/** The leader first, then the other voters, then the observers, as Kafka's tool orders them. */
function replicationRows(q: QuorumStatus): QuorumStatus['voters'] {
  return [...q.voters.filter((v) => v.role === 'Leader'), ...q.voters.filter((v) => v.role !== 'Leader'), ...q.observers];
}

export function renderReplication(q: QuorumStatus, humanReadable: boolean, nowMs: number): string {
  return table(['NodeId', 'LogEndOffset', 'Lag', 'LastFetchTimestamp', 'LastCaughtUpTimestamp', 'Status'], replicationRows(q).map((r) => [
    String(r.nodeId), String(r.logEndOffset), String(r.lag), timestamp(r.lastFetchTimestampMs, humanReadable, nowMs),
    timestamp(r.lastCaughtUpTimestampMs, humanReadable, nowMs), r.role,
  ]));
}

export const metadataCommand: CliCommand = { name: 'metadata', summary: 'Describe the metadata quorum, add and remove controllers', usage, run };
