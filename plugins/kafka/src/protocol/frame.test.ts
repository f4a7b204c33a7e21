import { describe, expect, it } from 'vitest';
import { encodeRequest, encodeResponse, encodeResponseChunks, readRequestFrame, readResponseFrame } from './frame.js';
import { ApiKey } from './generated/api-keys.js';
import type { FetchResponse } from './generated/fetch-response.js';

describe('frames', () => {
  it('ApiVersions answers with response header v0 even in flexible versions', () => {
    const frame = encodeResponse(ApiKey.ApiVersions, 3, 9, { errorCode: 0, apiKeys: [], throttleTimeMs: 0 });
    // size, correlation id, then straight into the body: error code 0.
    expect(frame.subarray(0, 10).toString('hex')).toBe(`${(frame.length - 4).toString(16).padStart(8, '0')}000000090000`);
    expect(readResponseFrame(frame.subarray(4), ApiKey.ApiVersions, 3).correlationId).toBe(9);
  });

  it('flexible responses carry header v1 (correlation id and an empty tag section)', () => {
    const frame = encodeResponse(ApiKey.Heartbeat, 4, 5, { errorCode: 0 });
    expect(frame.toString('hex')).toBe('0000000c' + '00000005' + '00' + '00000000' + '0000' + '00');
  });

  it('requests round trip through their header', () => {
    const frame = encodeRequest(ApiKey.Metadata, 12, 77, 'cli', { topics: null, allowAutoTopicCreation: true });
    const { header, headerVersion, body } = readRequestFrame(frame.subarray(4));
    expect(headerVersion).toBe(2);
    expect(header).toEqual({ requestApiKey: 3, requestApiVersion: 12, correlationId: 77, clientId: 'cli' });
    expect(body.remaining()).toBeGreaterThan(0);
  });

  it('a Fetch response in chunks leaves the records uncopied and equals the one-buffer frame', () => {
    const records = [Buffer.alloc(1000, 1), Buffer.alloc(10, 2)];
    for (const version of [4, 11, 12, 17]) {
      const body: FetchResponse = {
        responses: [
          {
            topic: 't',
            partitions: records.map((r, i) => ({ partitionIndex: i, errorCode: 0, highWatermark: 5, records: r })),
          },
        ],
      };
      const chunks = encodeResponseChunks(ApiKey.Fetch, version, 1, body);
      expect(chunks.filter((c) => records.some((r) => r === c))).toHaveLength(2);
      expect(Buffer.concat(chunks).equals(encodeResponse(ApiKey.Fetch, version, 1, body))).toBe(true);
    }
  });
});
