/**
 * Vote (key 52), v1: a Raft candidate asks for this node's vote, or a pre-vote (KIP-996, marked as cluster/raft-wire.ts explains).
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `raft.vote` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { raftWires } from '../cluster/raft-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const voteApi = defineApi({
  apiKey: ApiKey.Vote,
  name: 'Vote',
  minVersion: 1,
  maxVersion: 1,
  handle: (req, ctx) => serveRpc('raft.vote', raftWires['raft.vote'], req, ctx),
});
