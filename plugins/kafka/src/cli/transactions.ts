/**
 * `sluice transactions`: list, describe, and abort hanging transactions, as
 * kafka-transactions.sh does.
 *
 * `abort` is for a transaction left open on a partition that its coordinator will not end
 * (its state was lost, or it belongs to a coordinator that is gone): given the partition
 * and the transaction's first offset, it finds the producer with DescribeProducers on the
 * partition's leader and writes an ABORT marker there with WriteTxnMarkers, with the
 * producer's epoch and the last coordinator epoch the partition saw. A transaction the
 * coordinator knows is aborted by the coordinator itself when it times out.
 */
import { CliUsageError, parseArgs, type CliCommand, type CliIo } from '@sluice/sdk';
import { ApiKey } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError } from './client.js';
import { BOOTSTRAP_USAGE, bootstrap, integer, single } from './options.js';

const usage = `Usage: sluice transactions list [options]
       sluice transactions describe <transactional-id> [options]
       sluice transactions abort --topic T --partition P --start-offset O [options]

Inspects the transactions of a running broker over the Kafka protocol.

  list       Prints each transactional id with its producer id and state.
  describe   Prints a transactional id's state, producer id and epoch, timeout, start
             time and the partitions of its open transaction.
  abort      Aborts the hanging transaction that starts at offset O of partition P of
             topic T, by writing an ABORT marker for its producer there.

Options:
${BOOTSTRAP_USAGE}
  --topic T          The partition's topic (abort).
  --partition P      The partition (abort).
  --start-offset O   The first offset of the transaction to abort, as DescribeProducers
                     reports it (abort).
  -h, --help         Show this help.
`;

const KEY_TYPE_TRANSACTION = 1;

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    io.stdout(usage);
    return 0;
  }
  if (action === undefined) throw new CliUsageError('expected list, describe or abort');
  const args = parseArgs(rest, { values: ['bootstrap-server', 'topic', 'partition', 'start-offset'], flags: [] });
  if (args.flags.has('help')) {
    io.stdout(usage);
    return 0;
  }
  const allowed: Record<string, readonly string[]> = { list: [], describe: [], abort: ['topic', 'partition', 'start-offset'] };
  const options = allowed[action];
  if (options === undefined) throw new CliUsageError(`unknown transactions action ${action}`);
  for (const name of [...args.values.keys(), ...args.flags]) {
    if (name !== 'bootstrap-server' && !options.includes(name)) throw new CliUsageError(`transactions ${action} takes no --${name}`);
  }
  if (action === 'describe' && args.positionals.length !== 1) throw new CliUsageError('transactions describe takes one transactional id');
  if (action !== 'describe' && args.positionals.length > 0) throw new CliUsageError(`transactions ${action} takes no positional argument`);
  let target: { topic: string; partition: number; startOffset: number } | undefined;
  if (action === 'abort') {
    const topic = single(args, 'topic');
    const partition = integer(args, 'partition', 0, 0x7fffffff);
    const startOffset = integer(args, 'start-offset', 0);
    if (topic === undefined || partition === undefined || startOffset === undefined) {
      throw new CliUsageError('transactions abort needs --topic, --partition and --start-offset');
    }
    target = { topic, partition, startOffset };
  }

  const client = new KafkaClient(bootstrap(args));
  try {
    if (action === 'list') await list(client, io);
    else if (action === 'describe') await describe(client, args.positionals[0]!, io);
    else await abort(client, target!, io);
    return 0;
  } finally {
    client.close();
  }
}

/** Transactional ids live on their coordinators, so every broker is asked. */
async function list(client: KafkaClient, io: CliIo): Promise<void> {
  const metadata = await client.metadata([]);
  const rows: string[][] = [];
  for (const b of metadata.brokers) {
    const answer = await client.request(ApiKey.ListTransactions, { stateFilters: [], producerIdFilters: [] }, { nodeId: b.nodeId });
    if (answer.errorCode !== 0) throw new KafkaResponseError(answer.errorCode, `cannot list the transactions of broker ${b.nodeId}`);
    for (const t of answer.transactionStates) rows.push([t.transactionalId, String(t.producerId), t.transactionState]);
  }
  rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  io.stdout(table(['TRANSACTIONAL-ID', 'PRODUCER-ID', 'STATE'], rows));
}

async function describe(client: KafkaClient, transactionalId: string, io: CliIo): Promise<void> {
  await client.metadata([]);
  const found = await client.request(ApiKey.FindCoordinator, { keyType: KEY_TYPE_TRANSACTION, coordinatorKeys: [transactionalId] });
  const coordinator = found.coordinators.find((c) => c.key === transactionalId);
  if (coordinator === undefined) throw new Error(`the broker did not name a coordinator for ${transactionalId}`);
  if (coordinator.errorCode !== 0) throw new KafkaResponseError(coordinator.errorCode, `coordinator of ${transactionalId}`, coordinator.errorMessage);
  const answer = await client.request(ApiKey.DescribeTransactions, { transactionalIds: [transactionalId] }, { nodeId: coordinator.nodeId });
  const t = answer.transactionStates.find((s) => s.transactionalId === transactionalId);
  if (t === undefined) throw new Error(`the broker did not describe ${transactionalId}`);
  if (t.errorCode !== 0) throw new KafkaResponseError(t.errorCode, `cannot describe ${transactionalId}`);
  const partitions = t.topics.flatMap((tp) => tp.partitions.map((p) => `${tp.topic}-${p}`)).join(',') || '-';
  io.stdout(table(['TRANSACTIONAL-ID', 'COORDINATOR', 'PRODUCER-ID', 'PRODUCER-EPOCH', 'STATE', 'TIMEOUT-MS', 'START-TIME', 'PARTITIONS'], [[
    transactionalId, String(coordinator.nodeId), String(t.producerId), String(t.producerEpoch), t.transactionState,
    String(t.transactionTimeoutMs), t.transactionStartTimeMs < 0 ? '-' : new Date(t.transactionStartTimeMs).toISOString(), partitions,
  ]]));
}

async function abort(client: KafkaClient, target: { topic: string; partition: number; startOffset: number }, io: CliIo): Promise<void> {
  const { topic, partition, startOffset } = target;
  const meta = await client.topic(topic);
  const leader = meta.partitions.find((p) => p.partitionIndex === partition)?.leaderId;
  if (leader === undefined || leader < 0) throw new Error(`${topic}-${partition} has no leader`);
  const described = await client.request(ApiKey.DescribeProducers, { topics: [{ name: topic, partitionIndexes: [partition] }] }, { nodeId: leader });
  const p = described.topics[0]?.partitions[0];
  if (p === undefined) throw new Error(`the broker did not describe the producers of ${topic}-${partition}`);
  if (p.errorCode !== 0) throw new KafkaResponseError(p.errorCode, `cannot describe the producers of ${topic}-${partition}`, p.errorMessage);
  const producer = p.activeProducers.find((a) => a.currentTxnStartOffset === startOffset);
  if (producer === undefined) throw new Error(`no open transaction starts at offset ${startOffset} of ${topic}-${partition}`);
  const answer = await client.request(ApiKey.WriteTxnMarkers, {
    markers: [{
      producerId: producer.producerId, producerEpoch: producer.producerEpoch, transactionResult: false,
      coordinatorEpoch: Math.max(producer.coordinatorEpoch, 0), topics: [{ name: topic, partitionIndexes: [partition] }],
    }],
  }, { nodeId: leader });
  const code = answer.markers[0]?.topics[0]?.partitions[0]?.errorCode;
  if (code === undefined) throw new Error('the broker did not answer for the marker');
  if (code !== 0) throw new KafkaResponseError(code, `cannot abort the transaction of producer ${producer.producerId} on ${topic}-${partition}`);
  io.stdout(`Aborted the transaction of producer ${producer.producerId} (epoch ${producer.producerEpoch}) starting at offset ${startOffset} of ${topic}-${partition}.\n`);
}

/** Columns padded to their widest cell, two spaces apart, the last one unpadded. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export const transactionsCommand: CliCommand = { name: 'transactions', summary: 'List, describe or abort (hanging) transactions', usage, run };
