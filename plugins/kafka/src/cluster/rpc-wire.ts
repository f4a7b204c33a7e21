/**
 * How each cluster RPC (sdk/src/cluster.ts) travels as a Kafka API, in both directions: the
 * transport turns a request into the Kafka message and the answer back; the broker's API
 * handlers turn the message into the RPC for `Kernel.cluster.handle` and its answer into the
 * Kafka response. Peers are Sluice nodes, so each RPC is sent at one fixed version, the
 * newest we have codecs for.
 *
 * Error codes: an RPC answer carries its own `errorCode`; a KafkaError thrown by the
 * receiving kernel becomes the Kafka response's top-level error code (per topic where the
 * message has no top-level one), and decoding prefers a non-zero top-level code.
 */
import type { ClusterRpcName, ClusterRpcRequest, ClusterRpcResponse } from '@sluice/sdk';
import type { Decoded, KnownApiKey, RequestOf, ResponseOf } from '../protocol/index.js';
import { controllerWires } from './controller-wire.js';
import { raftWires } from './raft-wire.js';
import { replicaWires } from './replica-wire.js';
import { voterWires } from './voter-wire.js';

export interface RpcWire<K extends ClusterRpcName, A extends KnownApiKey> {
  readonly apiKey: A;
  /** The version the transport sends. */
  readonly version: number;
  /** Sender: the Kafka request; `timeoutMs` fills the messages' own timeout fields. */
  requestToWire(request: ClusterRpcRequest<K>, timeoutMs: number): RequestOf<A>;
  /** Sender: the RPC answer, given the request it answers. */
  responseFromWire(response: Decoded<ResponseOf<A>>, request: ClusterRpcRequest<K>): ClusterRpcResponse<K>;
  /** Receiver, at any version the handler serves. */
  requestFromWire(request: Decoded<RequestOf<A>>, version: number): ClusterRpcRequest<K>;
  /** Receiver: the kernel's answer as the Kafka response. */
  responseToWire(response: ClusterRpcResponse<K>, request: ClusterRpcRequest<K>): ResponseOf<A>;
  /**
   * Receiver: the Kafka response when the request could not be served (the kernel threw, or
   * it does not translate); `message` is the error's, for the messages that carry one.
   */
  errorToWire(errorCode: number, request: Decoded<RequestOf<A>>, message?: string): ResponseOf<A>;
}

/** Every RPC's wire mapping; the compiler insists on one per RPC. */
export type RpcWires = { readonly [K in ClusterRpcName]: RpcWire<K, KnownApiKey> };

const RPC_WIRES: RpcWires = { ...raftWires, ...voterWires, ...controllerWires, ...replicaWires };

export function rpcWire<K extends ClusterRpcName>(rpc: K): RpcWire<K, KnownApiKey> {
  return RPC_WIRES[rpc] as RpcWire<K, KnownApiKey>;
}
