/** Shared by tests that run several Raft voters in one process. */
import type { ClusterRpcName, ClusterRpcRequest, ClusterRpcResponse, ClusterTransport, PeerAddress } from '@sluice/sdk';
import type { RaftConfig } from '../src/raft/raft-config.js';

/** Timeouts small enough for a test, large enough for a loaded two-core machine. */
export const TEST_RAFT_CONFIG: RaftConfig = {
  electionTimeoutMs: 60, fetchTimeoutMs: 150, fetchBackoffMs: 5, retryBackoffMs: 10, appendLingerMs: 2, maxFetchEntries: 50,
};
const WAIT_DEADLINE_MS = 20_000;
const WAIT_POLL_MS = 5;

export const TEST_VOTERS: readonly PeerAddress[] = [1, 2, 3].map((nodeId) => ({ nodeId, host: 'localhost', port: 9000 + nodeId }));

/** Polls `predicate` until it holds; fails naming `what` after the deadline. */
export async function waitFor(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_DEADLINE_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}

type Handler = (rpc: ClusterRpcName, request: unknown) => Promise<unknown>;

/** Delivers each call, a turn later, to the handler registered for the peer; none registered is a down node. */
export class MemoryTransport implements ClusterTransport {
  private readonly handlers = new Map<number, Handler>();

  register(nodeId: number, handler: Handler): void {
    this.handlers.set(nodeId, handler);
  }

  unregister(nodeId: number): void {
    this.handlers.delete(nodeId);
  }

  async call<K extends ClusterRpcName>(peer: PeerAddress, rpc: K, request: ClusterRpcRequest<K>): Promise<ClusterRpcResponse<K>> {
    await new Promise((resolve) => setImmediate(resolve));
    const handler = this.handlers.get(peer.nodeId);
    if (handler === undefined) throw new Error(`node ${peer.nodeId} is down`);
    return (await handler(rpc, request)) as ClusterRpcResponse<K>;
  }
}
