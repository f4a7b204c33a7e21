/**
 * The receiving side of a cluster RPC: the Kafka request as the RPC, handed to
 * `Kernel.cluster.handle`, its answer as the Kafka response. A request that does not
 * translate, or a KafkaError from the kernel, is answered with that error code in the
 * response; anything else the kernel throws is UNKNOWN_SERVER_ERROR, logged.
 */
import type { ClusterRpcName } from '@sluice/sdk';
import type { Decoded, KnownApiKey, RequestOf, ResponseOf } from '../protocol/index.js';
import type { RequestContext } from '../apis/api.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import type { RpcWire } from './rpc-wire.js';

export async function serveRpc<K extends ClusterRpcName, A extends KnownApiKey>(rpc: K, wire: RpcWire<K, A>, request: Decoded<RequestOf<A>>,
  ctx: RequestContext, signal?: AbortSignal): Promise<ResponseOf<A>> {
  try {
    const translated = wire.requestFromWire(request, ctx.apiVersion);
    return wire.responseToWire(await ctx.kernel.cluster.handle(rpc, translated, signal), translated);
  } catch (err) {
    const code = errorCodeOf(err);
    if (code === ErrorCode.UNKNOWN_SERVER_ERROR) ctx.log.error('cluster RPC failed', { rpc, error: (err as Error).message, client: ctx.clientId });
    return wire.errorToWire(code, request, code === ErrorCode.UNKNOWN_SERVER_ERROR ? undefined : (err as Error).message);
  }
}
