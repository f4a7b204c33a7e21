/**
 * ApiVersions (key 18), v0-3.
 *
 * Lists every API this frontend serves with its version range, built from the handler
 * registry so it can never advertise an API that has no handler. Asked at a version above
 * 3, the dispatcher answers Kafka's v0 fallback instead (see dispatcher.ts).
 *
 * One deliberate misstatement, as Kafka 4 makes it (KAFKA-18659): Produce is listed from
 * v0 though only v3+ is served. librdkafka before its fix for issue 4956 (Debian 12 ships
 * 2.0.2) checks gzip, snappy and lz4 support by asking whether the broker serves Produce
 * v0, and otherwise silently sends those batches uncompressed. Clients pick the highest
 * version both sides list, so none sends v0-2; one that did is refused by the dispatcher.
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi, type ApiHandler } from './api.js';

const ADVERTISED_MIN_VERSION: ReadonlyMap<number, number> = new Map([[ApiKey.Produce, 0]]);

export function apiVersionsApi(served: readonly ApiHandler[]): ApiHandler<typeof ApiKey.ApiVersions> {
  const self = { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3 };
  const apiKeys = [...served, self]
    .map((a) => ({ apiKey: a.apiKey, minVersion: ADVERTISED_MIN_VERSION.get(a.apiKey) ?? a.minVersion, maxVersion: a.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
  return defineApi({
    ...self,
    name: 'ApiVersions',
    handle: () => ({ errorCode: 0, apiKeys, throttleTimeMs: 0 }),
  });
}
