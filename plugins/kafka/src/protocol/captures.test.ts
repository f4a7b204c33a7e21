import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codegen/generate.js';
import {
  type KnownApiKey,
  decodeRequestBody,
  encodeRequest,
  encodeResponse,
  isKnownApiKey,
  readRequestFrame,
  readResponseFrame,
  requestCodec,
} from './frame.js';
import { requestHeaderVersion } from './generated/api-keys.js';
import { ProtocolError, Reader } from './reader.js';

/** Frames real clients sent (and the mock broker's answers): /work/shared/protocol-captures. */

interface Capture {
  protocol: string;
  api_key: number;
  api_name: string;
  version: number;
  correlation_id: number;
  client_id: string | null;
  file: string;
  direction: 'request' | 'response';
  schema_check: string;
  header_version: number;
}

const CAPTURES = join(REPO_ROOT, '../shared/protocol-captures');
const index = JSON.parse(readFileSync(join(CAPTURES, 'index.json'), 'utf8')) as { files: Capture[] };
const kafka = index.files.filter((f) => f.protocol === 'kafka');

/**
 * Mock-broker answers that Kafka's own decoder rejects too, though the capture's lenient
 * schema check passed them: a null (-1) Topics array, which OffsetFetch v3 does not allow.
 */
const MALFORMED_RESPONSES = new Set([
  'kafka/kafka-python/006-OffsetFetch-v3.resp.bin',
  'kafka/kafka-python/030-OffsetFetch-v3.resp.bin',
]);

function apiKeyOf(c: Capture): KnownApiKey {
  if (!isKnownApiKey(c.api_key)) throw new Error(`${c.file}: unknown api key ${c.api_key}`);
  return c.api_key;
}

describe('captured Kafka frames', () => {
  it('are all there', () => {
    expect(kafka.filter((c) => c.direction === 'request').length).toBeGreaterThan(250);
    expect(kafka.filter((c) => c.direction === 'response').length).toBeGreaterThan(250);
  });

  for (const c of kafka.filter((c) => c.direction === 'request')) {
    it(`request ${c.file}`, () => {
      const frame = readFileSync(join(CAPTURES, c.file));
      const { header, headerVersion, body } = readRequestFrame(frame);
      expect(headerVersion).toBe(c.header_version);
      expect(header.requestApiKey).toBe(c.api_key);
      expect(header.requestApiVersion).toBe(c.version);
      expect(header.correlationId).toBe(c.correlation_id);
      expect(header.clientId).toBe(c.client_id);
      const apiKey = apiKeyOf(c);
      const decoded = decodeRequestBody(apiKey, c.version, body);
      // Unknown tagged fields are dropped, so only frames without them re-encode identically.
      if (body.skippedTags === 0) {
        const again = encodeRequest(apiKey, c.version, header.correlationId, header.clientId, decoded);
        expect(again.subarray(4).toString('hex')).toBe(frame.toString('hex'));
      }
    });
  }

  for (const c of kafka.filter((c) => c.direction === 'response')) {
    it(`response ${c.file}`, () => {
      const frame = readFileSync(join(CAPTURES, c.file));
      const apiKey = apiKeyOf(c);
      if (c.schema_check !== 'ok' || MALFORMED_RESPONSES.has(c.file)) {
        // Includes librdkafka's mock answering ApiVersions v3 with a malformed body (see the captures README).
        expect(() => readResponseFrame(frame, apiKey, c.version)).toThrow(ProtocolError);
        return;
      }
      const { correlationId, body } = readResponseFrame(frame, apiKey, c.version);
      expect(correlationId).toBe(c.correlation_id);
      const again = encodeResponse(apiKey, c.version, correlationId, body);
      expect(again.subarray(4).toString('hex')).toBe(frame.toString('hex'));
    });
  }

  it('Produce records come back as a view of the frame, not a copy', () => {
    const c = kafka.find((f) => f.direction === 'request' && f.api_name === 'Produce');
    if (c === undefined) throw new Error('no Produce capture');
    const frame = readFileSync(join(CAPTURES, c.file));
    const { body } = readRequestFrame(frame);
    const produce = decodeRequestBody(0, c.version, body);
    const records = produce.topicData[0]?.partitionData[0]?.records;
    expect(records).toBeInstanceOf(Buffer);
    expect((records as Buffer).buffer).toBe(frame.buffer);
  });

  it('a header for an unsupported version still yields the correlation id', () => {
    const frame = Buffer.from('0012000700000063000474657374' + '00', 'hex'); // ApiVersions v7, flexible header
    expect(requestHeaderVersion(18, 7)).toBe(2);
    const { header } = readRequestFrame(frame);
    expect(header.correlationId).toBe(0x63);
    expect(header.clientId).toBe('test');
    expect(() => requestCodec(18).decode(new Reader(frame, 14), 7)).toThrow(ProtocolError);
  });
});
