/**
 * Codec micro-benchmark, for comparing changes: `npx tsc -b plugins/kafka && node
 * plugins/kafka/dist/protocol/codec.bench.js`. Decodes the largest captured ProduceRequest and
 * encodes a FetchResponse carrying 1 MiB of records, copied into one buffer and as chunks.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../codegen/generate.js';
import { decodeRequestBody, encodeResponse, encodeResponseChunks, readRequestFrame } from './frame.js';
import { ApiKey } from './generated/api-keys.js';
import type { FetchResponse } from './generated/fetch-response.js';

interface Capture {
  protocol: string;
  api_name: string;
  direction: string;
  file: string;
  size: number;
}

function bench(name: string, bytesPerOp: number, op: () => unknown): void {
  for (let i = 0; i < 2000; i++) op();
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 1e9) {
    for (let i = 0; i < 200; i++) op();
    ops += 200;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  const perSec = (ops * 1e9) / elapsed;
  const mbs = (perSec * bytesPerOp) / 2 ** 20;
  console.log(`${name.padEnd(52)} ${perSec.toFixed(0).padStart(10)} ops/s ${mbs.toFixed(0).padStart(8)} MB/s`);
}

const captures = join(REPO_ROOT, '../shared/protocol-captures');
const index = JSON.parse(readFileSync(join(captures, 'index.json'), 'utf8')) as { files: Capture[] };
const produce = index.files
  .filter((c) => c.protocol === 'kafka' && c.api_name === 'Produce' && c.direction === 'request')
  .sort((a, b) => b.size - a.size)[0];
if (produce === undefined) throw new Error('no Produce capture');
const frame = readFileSync(join(captures, produce.file));

bench(`decode ${produce.file} (${frame.length} B)`, frame.length, () => {
  const { header, body } = readRequestFrame(frame);
  return decodeRequestBody(ApiKey.Produce, header.requestApiVersion, body);
});

const partitions = 16;
const records = Array.from({ length: partitions }, () => Buffer.alloc(2 ** 20 / partitions, 7));
const fetch: FetchResponse = {
  responses: [
    {
      topic: 'bench-topic',
      partitions: records.map((r, i) => ({ partitionIndex: i, errorCode: 0, highWatermark: 1e9 + i, lastStableOffset: 1e9, logStartOffset: 0, records: r })),
    },
  ],
};
for (const version of [11, 12]) {
  bench(`encode FetchResponse v${version}, 1 MiB in ${partitions} partitions, copied`, 2 ** 20, () =>
    encodeResponse(ApiKey.Fetch, version, 1, fetch),
  );
  bench(`encode FetchResponse v${version}, 1 MiB in ${partitions} partitions, chunks`, 2 ** 20, () =>
    encodeResponseChunks(ApiKey.Fetch, version, 1, fetch),
  );
}
