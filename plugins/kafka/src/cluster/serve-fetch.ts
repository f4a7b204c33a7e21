/**
 * Fetch requests from other nodes: one with a replica id (>= 0) is a follower's, not a
 * consumer's. Fetching `__cluster_metadata` partition 0 it is a Raft fetch (`raft.fetch`),
 * anything else partition replication (`replica.fetch`). Either long poll is ended when the
 * fetcher's connection closes or the broker stops.
 */
import { uuidToString, type Decoded, type FetchRequest, type FetchResponse } from '../protocol/index.js';
import type { RequestContext } from '../apis/api.js';
import { fetchReplicaId, isRaftFetch, raftWires } from './raft-wire.js';
import { replicaFetchWire } from './replica-wire.js';
import { serveRpc } from './serve-rpc.js';

export function isReplicaFetch(req: Decoded<FetchRequest>, version: number): boolean {
  return fetchReplicaId(req, version) >= 0;
}

export async function serveReplicaFetch(req: Decoded<FetchRequest>, ctx: RequestContext): Promise<FetchResponse> {
  // AbortSignal.any would do, but only from Node 20.3.
  const ended = new AbortController();
  const end = (): void => ended.abort();
  ctx.signal.addEventListener('abort', end, { once: true });
  ctx.connection.closed.addEventListener('abort', end, { once: true });
  if (ctx.signal.aborted || ctx.connection.closed.aborted) end();
  try {
    if (isRaftFetch(req, ctx.apiVersion)) return await serveRpc('raft.fetch', raftWires['raft.fetch'], req, ctx, ended.signal);
    let names: Map<string, string> | undefined;
    const topicName = (id: Uint8Array): string | undefined => {
      names ??= new Map(ctx.kernel.listTopics().map((t) => [uuidToString(t.topicId), t.name]));
      return names.get(uuidToString(id));
    };
    return await serveRpc('replica.fetch', replicaFetchWire(topicName), req, ctx, ended.signal);
  } finally {
    ctx.signal.removeEventListener('abort', end);
    ctx.connection.closed.removeEventListener('abort', end);
  }
}
