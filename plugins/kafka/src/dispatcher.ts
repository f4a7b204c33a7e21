/**
 * Turns a request frame into a response frame: header, API and version check, body
 * decode, handler, encode. An unknown API key, an unsupported version (except for
 * ApiVersions) or a malformed body throws, which closes the connection, as Kafka does.
 * ApiVersions asked at a version we do not serve gets Kafka's fallback: a v0 body with
 * UNSUPPORTED_VERSION and our ApiVersions range, so the client can retry lower.
 */
import {
  ApiKey,
  decodeRequestBody,
  encodeResponse,
  encodeResponseChunks,
  isKnownApiKey,
  readRequestFrame,
  type KnownApiKey,
  type ResponseOf,
} from './protocol/index.js';
import type { ApiHandler, RequestContext } from './apis/api.js';
import type { ConnectionInfo, ResponseParts } from './server/connection.js';

export const UNSUPPORTED_VERSION = 35;

export type SharedContext = Omit<RequestContext, 'connection' | 'apiVersion' | 'correlationId' | 'clientId'>;

export class Dispatcher {
  private readonly byKey: Array<ApiHandler | undefined> = [];

  constructor(apis: readonly ApiHandler[], private readonly shared: SharedContext) {
    for (const api of apis) {
      if (this.byKey[api.apiKey] !== undefined) throw new Error(`two handlers for API key ${api.apiKey}`);
      this.byKey[api.apiKey] = api;
    }
  }

  readonly handle = (frame: Buffer, connection: ConnectionInfo): ResponseParts | null | Promise<ResponseParts | null> => {
    const { header, body } = readRequestFrame(frame);
    const apiKey = header.requestApiKey;
    const version = header.requestApiVersion;
    const correlationId = header.correlationId;
    const api = this.byKey[apiKey];
    if (apiKey === ApiKey.ApiVersions && api !== undefined && version > api.maxVersion) {
      return encodeResponse(ApiKey.ApiVersions, 0, correlationId, {
        errorCode: UNSUPPORTED_VERSION,
        apiKeys: [{ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion }],
      });
    }
    if (api === undefined || !isKnownApiKey(apiKey)) throw new Error(`API key ${apiKey} is not served`);
    if (version < api.minVersion || version > api.maxVersion) {
      throw new Error(`${api.name} v${version} is not served (v${api.minVersion}-${api.maxVersion})`);
    }
    const request = decodeRequestBody(apiKey, version, body);
    const ctx: RequestContext = { ...this.shared, connection, apiVersion: version, correlationId, clientId: header.clientId };
    const result = (api as ApiHandler<KnownApiKey>).handle(request as never, ctx);
    if (result instanceof Promise) return result.then((r) => encode(apiKey, version, correlationId, r));
    return encode(apiKey, version, correlationId, result);
  };
}

function encode(apiKey: KnownApiKey, version: number, correlationId: number, body: ResponseOf<KnownApiKey> | null): ResponseParts | null {
  if (body === null) return null;
  return apiKey === ApiKey.Fetch
    ? encodeResponseChunks(apiKey, version, correlationId, body as never)
    : encodeResponse(apiKey, version, correlationId, body as never);
}
