/**
 * `npm run bench:txn`: producer throughput of transactions next to idempotent produce, one
 * confluent_kafka (librdkafka) producer against a Sluice broker process over 127.0.0.1.
 *
 * Method: TXN_REPS times, on a fresh topic each time (TXN_PARTITIONS partitions), TXN_MESSAGES
 * records of TXN_SIZE bytes: once with enable.idempotence, once in transactions of
 * TXN_BATCH records each (begin, produce, commit: each commit writes Prepare and Complete to
 * __transaction_state and a marker to every partition, all fsynced, before it answers).
 * Both on the default log.write.caching=false. Reported as `name median min=.. max=.. n=..`
 * of messages/s.
 *
 * Knobs (environment): TXN_REPS (3), TXN_MESSAGES (200000), TXN_SIZE (100), TXN_BATCH (1000),
 * TXN_PARTITIONS (4).
 */
import { join } from 'node:path';
import { nameValues, REPO_ROOT, run, startBroker } from './processes.js';
import { fmtSummary, summarize } from './stats.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

const REPS = envInt('TXN_REPS', 3);
const MESSAGES = envInt('TXN_MESSAGES', 200_000);
const SIZE = envInt('TXN_SIZE', 100);
const BATCH = envInt('TXN_BATCH', 1000);
const PARTITIONS = envInt('TXN_PARTITIONS', 4);
const SCRIPT = join(REPO_ROOT, 'bench/py/txn_throughput.py');

async function main(): Promise<void> {
  const broker = await startBroker({ 'num.partitions': String(PARTITIONS) });
  const figures = { idempotent: [] as number[], transactional: [] as number[] };
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const mode of ['idempotent', 'transactional'] as const) {
        const r = await run('/usr/bin/python3', [SCRIPT, '--bootstrap', broker.bootstrap, '--topic', `txn-bench-${mode}-${rep}`,
          '--messages', String(MESSAGES), '--size', String(SIZE), '--mode', mode, '--txn-messages', String(BATCH),
          '--partitions', String(PARTITIONS)], { timeoutMs: 600_000, echoStderr: true });
        const rate = nameValues(r.stdout).get('msgs_per_s');
        if (r.code !== 0 || rate === undefined) throw new Error(`${mode} run failed (${r.code}):\n${r.stderr.join('\n')}`);
        figures[mode].push(rate);
      }
    }
  } finally {
    await broker.stop();
  }
  console.log(`# ${MESSAGES} messages of ${SIZE} bytes over ${PARTITIONS} partitions, one librdkafka producer, ${REPS} reps`);
  console.log(`idempotent_msgs_per_s ${fmtSummary(summarize(figures.idempotent))}`);
  console.log(`transactional_${BATCH}_msgs_per_s ${fmtSummary(summarize(figures.transactional))}`);
}

await main();
