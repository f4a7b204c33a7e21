/**
 * ApiVersions (key 18), v0-3.
 *
 * Lists every API this frontend serves with its version range, built from the handler
 * registry so it can never advertise an API that has no handler. Asked at a version above
 * 3, the dispatcher answers Kafka's v0 fallback instead (see dispatcher.ts).
 */
import { ApiKey } from '../protocol/index.js';
import { defineApi, type ApiHandler } from './api.js';

export function apiVersionsApi(served: readonly ApiHandler[]): ApiHandler<typeof ApiKey.ApiVersions> {
  const self = { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3 };
  const apiKeys = [...served, self]
    .map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
  return defineApi({
    ...self,
    name: 'ApiVersions',
    handle: () => ({ errorCode: 0, apiKeys, throttleTimeMs: 0 }),
  });
}
