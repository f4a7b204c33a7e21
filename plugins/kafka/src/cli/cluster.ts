/**
 * `sluice cluster status`: one look at a cluster's health, the first thing to run before
 * and after touching a node. The brokers (DescribeCluster), the active controller and the
 * metadata quorum's progress (DescribeQuorum, answered by a controller as in Kafka), and
 * the partitions that are under-replicated (ISR smaller than the replicas) or offline (no
 * leader), from Metadata.
 *
 * The quorum is described by `--bootstrap-controller`, like kafka-metadata-quorum.sh, or by
 * the bootstrap server when not given. A node that cannot describe it does not hide the
 * rest: the status prints what it has and names the quorum's error.
 */
import { CliUsageError, parseArgs, type CliCommand, type CliIo } from '@sluice/sdk';
import { KafkaClient } from './client.js';
import { partitionHealth, type PartitionHealth, type PartitionState, type QuorumStatus } from './cluster-health.js';
import { describeCluster, describeQuorum, type BrokerInfo } from './cluster-queries.js';
import { nodeList, table, timestamp } from './cluster-table.js';
import { bootstrapController, CONTROLLER_USAGE } from './cluster-options.js';
import { BOOTSTRAP_USAGE, bootstrap } from './options.js';

const usage = `Usage: sluice cluster status [--bootstrap-controller host:port] [--json] [options]

Prints a cluster's health over the Kafka protocol: its id, the brokers with id, address
and rack, the active controller, the metadata quorum (leader, epoch, high watermark, each
voter's and observer's log end offset and lag behind the leader), and the partitions that
are under-replicated (fewer in-sync replicas than replicas) or offline (no leader), counted
and listed.

Options:
${BOOTSTRAP_USAGE}
${CONTROLLER_USAGE}
  --json                         One JSON document on stdout, for scripts.
  -h, --help                     Show this help.
`;

export interface ClusterStatus {
  readonly clusterId: string;
  /** The quorum leader when the quorum was described, else the controller the broker names. */
  readonly activeControllerId: number;
  readonly brokers: readonly BrokerInfo[];
  readonly quorum: QuorumStatus | null;
  /** Why the quorum could not be described; null when it was. */
  readonly quorumError: string | null;
  readonly partitions: PartitionHealth;
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    io.stdout(usage);
    return 0;
  }
  if (action !== 'status') throw new CliUsageError(action === undefined ? 'expected status' : `unknown cluster action ${action}`);
  const args = parseArgs(rest, { values: ['bootstrap-server', 'bootstrap-controller'], flags: ['json'] });
  if (args.flags.has('help')) {
    io.stdout(usage);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliUsageError('cluster status takes no positional argument');
  const controllerAddress = bootstrapController(args);
  const client = new KafkaClient(bootstrap(args));
  const controllerClient = controllerAddress === undefined ? client : new KafkaClient(controllerAddress);
  try {
    const status = await clusterStatus(client, controllerClient);
    io.stdout(args.flags.has('json') ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status, Date.now()));
    return 0;
  } finally {
    client.close();
    controllerClient.close();
  }
}

export async function clusterStatus(client: KafkaClient, controllerClient: KafkaClient): Promise<ClusterStatus> {
  const cluster = await describeCluster(client, 'brokers');
  const metadata = await client.metadata(null);
  let quorum: QuorumStatus | null = null;
  let quorumError: string | null = null;
  try {
    quorum = await describeQuorum(controllerClient);
  } catch (e) {
    quorumError = e instanceof Error ? e.message : String(e);
  }
  return {
    clusterId: cluster.clusterId,
    activeControllerId: quorum !== null ? quorum.leaderId : cluster.controllerId,
    brokers: cluster.nodes,
    quorum,
    quorumError,
    partitions: partitionHealth(metadata),
  };
}

export function renderStatus(s: ClusterStatus, nowMs: number): string {
  const out: string[] = [];
  out.push(`Cluster id:         ${s.clusterId}\n`);
  out.push(`Active controller:  ${s.activeControllerId < 0 ? 'none' : s.activeControllerId}\n`);
  out.push(`Brokers:            ${s.brokers.length}\n`);
  out.push(table(['ID', 'HOST:PORT', 'RACK'], s.brokers.map((b) => [String(b.id), `${b.host}:${b.port}`, b.rack ?? '-']), '  '));
  if (s.quorum === null) {
    out.push(`Quorum:             not described: ${s.quorumError ?? 'no answer'}\n`);
  } else {
    const q = s.quorum;
    out.push(`Quorum:             leader ${q.leaderId < 0 ? 'none' : q.leaderId}, epoch ${q.leaderEpoch}, high watermark ${q.highWatermark}, ` +
      `max follower lag ${q.maxFollowerLag}\n`);
    const rows = [...q.voters, ...q.observers].map((r) => [
      String(r.nodeId), r.role, String(r.logEndOffset), r.lag < 0 ? '-' : String(r.lag),
      timestamp(r.lastFetchTimestampMs, true, nowMs), timestamp(r.lastCaughtUpTimestampMs, true, nowMs),
    ]);
    out.push(table(['NODE', 'ROLE', 'LOG-END-OFFSET', 'LAG', 'LAST-FETCH', 'LAST-CAUGHT-UP'], rows, '  '));
  }
  const p = s.partitions;
  out.push(`Partitions:         ${p.partitionCount}, under-replicated ${p.underReplicated.length}, offline ${p.offline.length}\n`);
  if (p.underReplicated.length > 0) out.push('Under-replicated partitions:\n', partitionTable(p.underReplicated));
  if (p.offline.length > 0) out.push('Offline partitions:\n', partitionTable(p.offline));
  return out.join('');
}

function partitionTable(partitions: readonly PartitionState[]): string {
  return table(['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR'], partitions.map((p) => [
    p.topic, String(p.partition), p.leader < 0 ? 'none' : String(p.leader), nodeList(p.replicas), nodeList(p.isr),
  ]), '  ');
}

export const clusterCommand: CliCommand = { name: 'cluster', summary: 'Show a cluster\'s brokers, controller, quorum and partition health', usage, run };
