/**
 * `sluice consume`: prints a topic's records, one per line, as kafka-console-consumer.sh
 * does without --group: it joins no consumer group, assigns itself every partition (or
 * the one given) and keeps its positions in memory only.
 * Values are printed as UTF-8 text: bytes that are not valid UTF-8 come out as U+FFFD.
 */
import { CliUsageError, parseArgs, type CliCommand, type CliIo } from '@sluice/sdk';
import { ApiKey } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError, REQUEST_TIMEOUT_MS } from './client.js';
import { BOOTSTRAP_USAGE, bootstrap, integer, single, topicName } from './options.js';
import { batchesEnd, readRecords } from '../records/batch.js';

/** Kafka's default fetch.max.wait.ms: how long the broker holds a fetch with nothing to return. */
const FETCH_WAIT_MS = 500;
const FETCH_BYTES_MAX = 50 * 1024 * 1024;
const PARTITION_FETCH_BYTES_MAX = 1024 * 1024;
const PROGRESS_INTERVAL_MS = 5_000;
const EARLIEST = -2;
const LATEST = -1;

const usage = `Usage: sluice consume <topic> [--from-beginning] [--partition N] [--offset N]
                      [--max-messages N] [--print-key] [--key-separator SEP]
                      [--timeout-ms N] [--progress] [options]

Prints the records of a topic on a running broker, one value per line, reading over the
Kafka protocol. Reads every partition, or only --partition, from its end (new records
only) unless --from-beginning or --offset is given; runs until stopped, --max-messages
records are printed, or no record came for --timeout-ms.

Options:
${BOOTSTRAP_USAGE}
  --from-beginning               Start at the oldest record of each partition.
  --partition N                  Read only partition N.
  --offset N|earliest|latest     Start at this offset (needs --partition).
  --max-messages N               Stop after N records.
  --print-key                    Print key SEP value (a missing key prints as null).
  --key-separator SEP            Between key and value (default a tab).
  --timeout-ms N                 Stop after N ms without a record (exit code 0).
  --progress                     A progress line on stderr every few seconds; the default
                                 when stderr is a terminal.
  -h, --help                     Show this help.
`;

interface Position {
  readonly partition: number;
  readonly leader: number;
  offset: number;
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, {
    values: ['bootstrap-server', 'partition', 'offset', 'max-messages', 'key-separator', 'timeout-ms'],
    flags: ['from-beginning', 'print-key', 'progress'],
  });
  if (args.flags.has('help')) {
    io.stdout(usage);
    return 0;
  }
  const topic = topicName(args, 'consume');
  const only = integer(args, 'partition', 0, 2 ** 31 - 1);
  const offsetText = single(args, 'offset');
  if (offsetText !== undefined && only === undefined) throw new CliUsageError('--offset needs --partition');
  if (offsetText !== undefined && args.flags.has('from-beginning')) throw new CliUsageError('--offset and --from-beginning exclude each other');
  const start = offsetText === undefined ? (args.flags.has('from-beginning') ? EARLIEST : LATEST) : startOffset(offsetText);
  const maxMessages = integer(args, 'max-messages', 1);
  const timeoutMs = integer(args, 'timeout-ms', 0);
  const printKey = args.flags.has('print-key');
  const separator = single(args, 'key-separator') ?? '\t';

  const client = new KafkaClient(bootstrap(args));
  let consumed = 0;
  let progress: NodeJS.Timeout | undefined;
  try {
    const metadata = await client.topic(topic);
    const partitions = metadata.partitions.filter((p) => only === undefined || p.partitionIndex === only);
    if (partitions.length === 0) throw new Error(`topic ${topic} has no partition ${only} (it has ${metadata.partitions.length})`);
    const positions: Position[] = partitions
      .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, offset: start }))
      .sort((a, b) => a.partition - b.partition);
    const leaderless = positions.find((p) => p.leader < 0);
    if (leaderless !== undefined) throw new Error(`partition ${topic}-${leaderless.partition} has no leader`);
    await resolveStarts(client, topic, positions.filter((p) => p.offset < 0));

    if (io.stderrIsTTY || args.flags.has('progress')) {
      let last = { at: Date.now(), consumed: 0 };
      progress = setInterval(() => {
        const now = Date.now();
        const rate = Math.round(((consumed - last.consumed) * 1000) / Math.max(now - last.at, 1));
        io.stderr(`consumed ${consumed} records (${rate}/s)\n`);
        last = { at: now, consumed };
      }, PROGRESS_INTERVAL_MS);
    }

    let lastRecordAt = Date.now();
    for (;;) {
      const idleMs = Date.now() - lastRecordAt;
      if (timeoutMs !== undefined && idleMs >= timeoutMs) break;
      const waitMs = timeoutMs === undefined ? FETCH_WAIT_MS : Math.min(FETCH_WAIT_MS, timeoutMs - idleMs);
      const answers = await Promise.all([...byLeader(positions)].map(([leader, wanted]) => fetchFrom(client, topic, leader, wanted, waitMs)));
      let out = '';
      let done = false;
      for (const answer of answers) {
        for (const data of answer.responses.flatMap((t) => t.partitions)) {
          const position = positions.find((p) => p.partition === data.partitionIndex);
          if (position === undefined) continue;
          if (data.errorCode !== 0) {
            throw new KafkaResponseError(data.errorCode, `fetch from ${topic}-${position.partition} at offset ${position.offset}`);
          }
          if (data.records === null) continue;
          const from = position.offset;
          const records = [...readRecords(data.records)].filter((r) => r.offset >= from);
          // Past control batches (transaction markers) too, which hold no data records.
          const nextOffset = batchesEnd(data.records) ?? from;
          for (const r of records) {
            const value = r.value === null ? 'null' : Buffer.from(r.value).toString('utf8');
            out += printKey ? `${r.key === null ? 'null' : Buffer.from(r.key).toString('utf8')}${separator}${value}\n` : `${value}\n`;
            consumed++;
            if (consumed === maxMessages) {
              done = true;
              break;
            }
          }
          position.offset = Math.max(position.offset, nextOffset);
          if (records.length > 0) lastRecordAt = Date.now();
          if (done) break;
        }
        if (done) break;
      }
      if (out.length > 0) io.stdout(out);
      if (done) break;
    }
    io.stderr(`consumed ${consumed} records\n`);
    return 0;
  } finally {
    clearInterval(progress);
    client.close();
  }
}

function byLeader(positions: readonly Position[]): Map<number, Position[]> {
  const groups = new Map<number, Position[]>();
  for (const p of positions) groups.set(p.leader, [...(groups.get(p.leader) ?? []), p]);
  return groups;
}

function startOffset(text: string): number {
  if (text === 'earliest') return EARLIEST;
  if (text === 'latest') return LATEST;
  const offset = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(offset)) throw new CliUsageError(`--offset must be an offset, earliest or latest, got ${text}`);
  return offset;
}

/** Replaces EARLIEST and LATEST by offsets, asking each partition's leader. */
async function resolveStarts(client: KafkaClient, topic: string, positions: readonly Position[]): Promise<void> {
  for (const [leader, wanted] of byLeader(positions)) {
    const answer = await client.request(ApiKey.ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{
        name: topic,
        partitions: wanted.map((p) => ({ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: p.offset, maxNumOffsets: 1 })),
      }],
      timeoutMs: REQUEST_TIMEOUT_MS,
    }, { nodeId: leader });
    for (const position of wanted) {
      const result = answer.topics.flatMap((t) => t.partitions).find((p) => p.partitionIndex === position.partition);
      const where = position.offset === EARLIEST ? 'earliest' : 'latest';
      if (result === undefined) throw new Error(`the broker did not list the ${where} offset of ${topic}-${position.partition}`);
      if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, `${where} offset of ${topic}-${position.partition}`);
      position.offset = result.offset;
    }
  }
}

function fetchFrom(client: KafkaClient, topic: string, leader: number, wanted: readonly Position[], waitMs: number) {
  return client.request(ApiKey.Fetch, {
    replicaId: -1,
    maxWaitMs: waitMs,
    minBytes: 1,
    maxBytes: FETCH_BYTES_MAX,
    isolationLevel: 0,
    // Session 0 at epoch -1: a full fetch each time, no session kept on the broker.
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic,
      partitions: wanted.map((p) => ({
        partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.offset, lastFetchedEpoch: -1, logStartOffset: -1,
        partitionMaxBytes: PARTITION_FETCH_BYTES_MAX,
      })),
    }],
    forgottenTopicsData: [],
    rackId: '',
  }, { nodeId: leader, timeoutMs: waitMs + REQUEST_TIMEOUT_MS });
}

export const consumeCommand: CliCommand = { name: 'consume', summary: 'Print the records of a topic', usage, run };
