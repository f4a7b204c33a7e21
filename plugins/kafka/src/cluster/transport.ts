/**
 * The `cluster.transport` provider: the kernel's cluster RPCs sent to other Sluice nodes as
 * the Kafka APIs they map onto (rpc-wire.ts), over the plugin's own client connection.
 *
 * Per peer (host:port) there are three connections, by kind of traffic, because Kafka
 * answers a connection's requests in order: a follower's long-polling replica fetch must
 * not hold up a vote, nor a controller operation waiting for its commit a Raft fetch.
 * Each is a PeerChannel: opened on first use, reopened with bounded backoff after a failure,
 * with a bounded number of requests in flight.
 */
import type { ClusterRpcName, ClusterRpcRequest, ClusterRpcResponse, ClusterTransport, Logger, PeerAddress } from '@sluice/sdk';
import { PeerChannel, type PeerChannelLimits } from './peer-channel.js';
import { rpcWire } from './rpc-wire.js';

export const CLUSTER_TRANSPORT_LIMITS: PeerChannelLimits = {
  connectTimeoutMsMax: 5_000,
  reconnectBackoffMsMin: 50,
  reconnectBackoffMsMax: 1_000,
  inFlightRequestsMax: 64,
  // A replica fetch answers at most its max_bytes (plus one batch); this is far above it.
  responseBytesMax: 256 * 1024 * 1024,
  lateAnswerMsMax: 5_000,
};

type Lane = 'raft' | 'controller' | 'replica';

function laneOf(rpc: ClusterRpcName): Lane {
  if (rpc === 'replica.fetch') return 'replica';
  return rpc.startsWith('raft.') ? 'raft' : 'controller';
}

export class KafkaClusterTransport implements ClusterTransport {
  private readonly channels = new Map<string, PeerChannel>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly limits: PeerChannelLimits = CLUSTER_TRANSPORT_LIMITS,
  ) {}

  async call<K extends ClusterRpcName>(peer: PeerAddress, rpc: K, request: ClusterRpcRequest<K>, timeoutMs: number): Promise<ClusterRpcResponse<K>> {
    const wire = rpcWire(rpc);
    const body = wire.requestToWire(request, timeoutMs);
    const response = await this.channel(peer, laneOf(rpc)).send(wire.apiKey, wire.version, body, timeoutMs);
    return wire.responseFromWire(response as never, request);
  }

  /** Closes every connection; calls in progress and later ones reject. */
  close(): void {
    this.closed = true;
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }

  private channel(peer: PeerAddress, lane: Lane): PeerChannel {
    if (this.closed) throw new Error('cluster transport is closed');
    const key = `${peer.host}:${peer.port}/${lane}`;
    let channel = this.channels.get(key);
    if (channel === undefined) {
      channel = new PeerChannel(peer.host, peer.port, this.limits, this.log);
      this.channels.set(key, channel);
    }
    return channel;
  }
}
