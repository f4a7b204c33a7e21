/**
 * `sluice metadata quorum describe --status|--replication`: the metadata quorum as
 * kafka-metadata-quorum.sh describe prints it, from DescribeQuorum. `--status` is the
 * quorum's summary (leader, epoch, high watermark, the furthest-behind voter's lag, voters,
 * observers); `--replication` one row per voter and observer with its log end offset, its
 * lag behind the leader and when it last fetched and was last caught up.
 */
import { CliUsageError, parseArgs, type CliCommand, type CliIo } from '@sluice/sdk';
import { KafkaClient } from './client.js';
import type { QuorumStatus } from './cluster-health.js';
import { bootstrapController, CONTROLLER_USAGE } from './cluster-options.js';
import { describeCluster, describeQuorum } from './cluster-queries.js';
import { nodeList, table, timestamp } from './cluster-table.js';
import { BOOTSTRAP_USAGE, bootstrap } from './options.js';

const usage = `Usage: sluice metadata quorum describe (--status | --replication) [--human-readable] [--json] [options]

Describes the metadata quorum (the Raft log __cluster_metadata) over the Kafka protocol,
as kafka-metadata-quorum.sh describe does.

  --status           Cluster id, leader, leader epoch, high watermark, the largest
                     follower lag (entries and ms), the voters and the observers.
  --replication      Per voter and observer: log end offset, lag behind the leader, last
                     fetch and last caught-up times (leader wall clock), status.

Options:
${BOOTSTRAP_USAGE}
${CONTROLLER_USAGE}
  --human-readable   Times as "N ms ago" instead of epoch milliseconds (--replication).
  --json             One JSON document on stdout, for scripts.
  -h, --help         Show this help.
`;

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [noun, verb, ...rest] = argv;
  if (noun === '--help' || noun === '-h' || verb === '--help' || verb === '-h') {
    io.stdout(usage);
    return 0;
  }
  if (noun !== 'quorum' || verb !== 'describe') throw new CliUsageError('expected quorum describe');
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
  if (controller !== undefined && args.values.has('bootstrap-server')) {
    throw new CliUsageError('give one of --bootstrap-server and --bootstrap-controller');
  }
  const client = new KafkaClient(controller ?? bootstrap(args));
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
    ['CurrentVoters:', nodeList(q.voters.map((v) => v.nodeId))],
    ['CurrentObservers:', nodeList(q.observers.map((o) => o.nodeId))],
  ].map(([k, v]) => `${k!.padEnd(24)}${v}\n`).join('');
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

export const metadataCommand: CliCommand = { name: 'metadata', summary: 'Describe the metadata quorum', usage, run };
