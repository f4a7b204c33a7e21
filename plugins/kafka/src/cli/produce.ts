/**
 * `sluice produce`: one record per line of stdin, as kafka-console-producer.sh does.
 *
 * Records are batched per partition until a batch reaches BATCH_BYTES or LINGER_MS have
 * passed, then sent, up to IN_FLIGHT_MAX requests at a time on each leader's connection
 * (Kafka answers in order, so batches stay in input order). Nothing is retried: without
 * an idempotent producer a retry may duplicate records, so a failed batch is reported with
 * its Kafka error and the exit code is 1.
 * Partitioning follows Kafka's Java client, so that a key lands where other producers put
 * it: murmur2 of the key, and records without a key stick to one partition per batch.
 */
import { CliUsageError, parseArgs, type CliCommand, type CliIo } from '@sluice/sdk';
import { ApiKey, type RequestOf } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError, REQUEST_TIMEOUT_MS } from './client.js';
import { errorName } from './error-names.js';
import { BOOTSTRAP_USAGE, bootstrap, integer, single, topicName } from './options.js';
import { BATCH_HEADER_BYTES, buildBatch, recordSize, type RecordInput } from '../records/batch.js';

const BATCH_BYTES = 16 * 1024;
const LINGER_MS = 100;
const IN_FLIGHT_MAX = 5;
const LEADER_NOT_AVAILABLE = 5;

type ProduceBody = RequestOf<typeof ApiKey.Produce>;

const usage = `Usage: sluice produce <topic> [--key-separator SEP] [--acks 0|1|all]
                      [--partition N] [--compression none|gzip] [options]

Reads stdin and sends each line as one record's value, to a running broker over the
Kafka protocol. With --key-separator, each line is key SEP value (a line without SEP is
an error). Records with a key go to the partition Kafka's clients choose for that key.
A missing topic is created when the broker allows it (auto.create.topics.enable).
Prints a summary on stderr; a failed batch is reported with its Kafka error, and the
exit code is then 1.

Options:
${BOOTSTRAP_USAGE}
  --key-separator SEP            Split each line into key and value at the first SEP.
  --acks 0|1|all                 Wait for no answer, the leader's write, or all in-sync
                                 replicas (default all).
  --partition N                  Send every record to partition N.
  --compression none|gzip        Compress batches (default none).
  -h, --help                     Show this help.
`;

const ACKS: Readonly<Record<string, number>> = { '0': 0, '1': 1, all: -1, '-1': -1 };

interface Pending {
  records: RecordInput[];
  bytes: number;
}

interface Tally {
  records: number;
  batches: number;
  failedRecords: number;
  failedBatches: number;
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { values: ['bootstrap-server', 'key-separator', 'acks', 'partition', 'compression'] });
  if (args.flags.has('help')) {
    io.stdout(usage);
    return 0;
  }
  const topic = topicName(args, 'produce');
  const acksText = single(args, 'acks') ?? 'all';
  const acks = ACKS[acksText];
  if (acks === undefined) throw new CliUsageError(`--acks must be 0, 1 or all, got ${acksText}`);
  const compression = single(args, 'compression') ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') throw new CliUsageError(`--compression must be none or gzip, got ${compression}`);
  const separatorText = single(args, 'key-separator');
  if (separatorText === '') throw new CliUsageError('--key-separator must not be empty');
  const separator = separatorText === undefined ? undefined : Buffer.from(separatorText, 'utf8');
  const fixedPartition = integer(args, 'partition', 0, 2 ** 31 - 1);

  const client = new KafkaClient(bootstrap(args));
  try {
    // Like Kafka's producer, asking may create the topic.
    const metadata = await client.topic(topic, true);
    const leaders = new Map(metadata.partitions.map((p) => [p.partitionIndex, p.leaderId]));
    const partitionCount = leaders.size;
    if (fixedPartition !== undefined && !leaders.has(fixedPartition)) {
      throw new Error(`topic ${topic} has no partition ${fixedPartition} (it has ${partitionCount})`);
    }
    for (const [partition, leader] of leaders) {
      if (leader < 0) throw new KafkaResponseError(LEADER_NOT_AVAILABLE, `partition ${topic}-${partition}`);
    }

    const tally: Tally = { records: 0, batches: 0, failedRecords: 0, failedBatches: 0 };
    const pending = new Map<number, Pending>();
    const inFlight: Array<Promise<void>> = [];
    let sticky = Math.floor(Math.random() * partitionCount);
    let linger: NodeJS.Timeout | undefined;

    const send = (): void => {
      clearTimeout(linger);
      linger = undefined;
      if (pending.has(sticky)) sticky = (sticky + 1) % partitionCount;
      const byLeader = new Map<number, Array<[number, Pending]>>();
      for (const entry of pending) {
        const leader = leaders.get(entry[0])!;
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), entry]);
      }
      pending.clear();
      const now = Date.now();
      for (const [leader, batches] of byLeader) {
        const body: ProduceBody = {
          transactionalId: null, acks, timeoutMs: REQUEST_TIMEOUT_MS,
          topicData: [{ name: topic, partitionData: batches.map(([index, b]) => ({ index, records: buildBatch(b.records, now, { compression }) })) }],
        };
        const sizes = new Map(batches.map(([index, b]) => [index, b.records.length]));
        inFlight.push(produce(client, leader, body, sizes, topic, tally, io));
      }
    };

    let lineNumber = 0;
    let inputError: string | undefined;
    for await (const line of lines(io.stdin)) {
      lineNumber++;
      let record: RecordInput = { key: null, value: line };
      if (separator !== undefined) {
        const at = line.indexOf(separator);
        if (at < 0) {
          inputError = `line ${lineNumber} has no key separator "${separatorText}"`;
          break;
        }
        record = { key: line.subarray(0, at), value: line.subarray(at + separator.length) };
      }
      const partition = fixedPartition ?? (record.key === null ? sticky : murmur2(record.key) % partitionCount);
      const batch = pending.get(partition) ?? { records: [], bytes: BATCH_HEADER_BYTES };
      pending.set(partition, batch);
      batch.bytes += recordSize(record, batch.records.length);
      batch.records.push(record);
      if (batch.bytes >= BATCH_BYTES) send();
      else linger ??= setTimeout(send, LINGER_MS);
      while (inFlight.length >= IN_FLIGHT_MAX) await inFlight.shift();
    }
    if (pending.size > 0) send();
    await Promise.all(inFlight);

    const verb = acks === 0 ? 'sent' : 'produced';
    const unconfirmed = acks === 0 ? ' (acks=0: not confirmed)' : '';
    const failed = tally.failedBatches > 0 ? `; ${count(tally.failedRecords, 'record')} in ${count(tally.failedBatches, 'batch')} failed` : '';
    io.stderr(`${verb} ${count(tally.records, 'record')} to ${topic} in ${count(tally.batches, 'batch')}${unconfirmed}${failed}\n`);
    if (inputError !== undefined) io.stderr(`error: ${inputError}; the lines before it were sent\n`);
    return tally.failedBatches > 0 || inputError !== undefined ? 1 : 0;
  } finally {
    client.close();
  }
}

/** Sends one request and records each batch's outcome; never rejects. */
async function produce(client: KafkaClient, leader: number, body: ProduceBody, sizes: ReadonlyMap<number, number>,
  topic: string, tally: Tally, io: CliIo): Promise<void> {
  const fail = (partition: number, reason: string): void => {
    tally.failedBatches++;
    tally.failedRecords += sizes.get(partition)!;
    io.stderr(`error: a batch of ${count(sizes.get(partition)!, 'record')} to ${topic}-${partition} failed: ${reason}\n`);
  };
  const succeed = (partition: number): void => {
    tally.batches++;
    tally.records += sizes.get(partition)!;
  };
  try {
    if (body.acks === 0) {
      await client.requestUnanswered(ApiKey.Produce, body, leader);
      for (const partition of sizes.keys()) succeed(partition);
      return;
    }
    const answer = await client.request(ApiKey.Produce, body, { nodeId: leader, timeoutMs: REQUEST_TIMEOUT_MS * 2 });
    const results = new Map(answer.responses.flatMap((t) => t.partitionResponses.map((p) => [p.index, p] as const)));
    for (const partition of sizes.keys()) {
      const result = results.get(partition);
      if (result === undefined) fail(partition, 'the broker did not answer for it');
      else if (result.errorCode !== 0) fail(partition, `${errorName(result.errorCode)}${result.errorMessage ? ` (${result.errorMessage})` : ''}`);
      else succeed(partition);
    }
  } catch (e) {
    for (const partition of sizes.keys()) fail(partition, (e as Error).message);
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : noun.endsWith('h') ? 'es' : 's'}`;
}

/** Lines as bytes, without their `\n` or `\r\n`; a last line without a newline counts. */
async function* lines(input: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of input) {
    const data = rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
      yield trimCr(data.subarray(start, nl));
      start = nl + 1;
    }
    rest = data.subarray(start);
  }
  if (rest.length > 0) yield trimCr(rest);
}

function trimCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
}

/** Kafka's murmur2 (seed 0x9747b28c), made positive as its partitioner does. */
function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ data.length;
  const whole = data.length - (data.length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = data.length % 4;
  if (tail >= 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h & 0x7fffffff;
}

export const produceCommand: CliCommand = { name: 'produce', summary: 'Send lines of stdin as records', usage, run };
