// Child process of sigkill.test.ts: appends to a partition log until it is killed.
//
//   node append-child.mjs <dir> <round>
//
// Opens the log as after a crash (cleanShutdown false, recovery point 0: everything is
// re-scanned), prints `ready <logEndOffset>`, then keeps a few durable appends in flight
// and prints `acked <baseOffset> <lastOffset> <sha1 of the values>` once each resolves.
// An ack line is written only after the append's promise resolved, so every line the
// parent reads is a promise the log made. Runs on the compiled kernel (tsc -b first).
import { createHash } from 'node:crypto';
import { PartitionLog } from '../dist/log/partition-log.js';
import { buildBatch } from '../dist/log/batch-builder.js';
import { toLogConfig } from '../dist/config/topic-config.js';
import { systemClock } from '../dist/clock.js';

const [dir, roundArg] = process.argv.slice(2);
const round = Number(roundArg);
const IN_FLIGHT = 16;
/** A parent that vanished without killing us must not leave an endless writer behind. */
const APPENDS_MAX = 200_000;

// stdout is a pipe: writes are synchronous on Linux, so an ack is out before the next append.
process.stdout.on('error', () => process.exit(3));

const quiet = () => {};
const logger = {
  debug: quiet, info: quiet, warn: quiet,
  error: (msg, fields) => process.stderr.write(`${msg} ${JSON.stringify(fields ?? {})}\n`),
};

const log = PartitionLog.open({
  dir, topic: 'sigkill', partition: 0,
  config: toLogConfig({}, { 'segment.bytes': '32768', 'index.interval.bytes': '512', 'segment.index.bytes': '1024' }),
  clock: systemClock, log: logger, recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false,
});
process.stdout.write(`ready ${log.logEndOffset}\n`);

// xorshift32 seeded by the round: sizes vary but a rerun of a round sends the same shapes.
let state = (0x9e3779b9 ^ (round * 0x85ebca6b)) >>> 0 || 1;
function random(n) {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state % n;
}

let sent = 0;
let inFlight = 0;

function makeBatch(i) {
  const count = 1 + random(5);
  const values = [];
  for (let j = 0; j < count; j++) values.push(`r${round}-a${i}-${j}-` + 'xyz'[random(3)].repeat(random(600)));
  const buf = buildBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestampMs: Date.now() })));
  return { buf, tag: createHash('sha1').update(values.join('\n')).digest('hex') };
}

function pump() {
  while (inFlight < IN_FLIGHT && sent < APPENDS_MAX) {
    const { buf, tag } = makeBatch(sent++);
    inFlight++;
    log.append(buf, 'durable').then(
      (r) => {
        process.stdout.write(`acked ${r.baseOffset} ${r.lastOffset} ${tag}\n`);
        inFlight--;
        pump();
      },
      (err) => {
        process.stderr.write(`append failed: ${err.stack ?? err}\n`);
        process.exit(2);
      },
    );
  }
}

pump();
