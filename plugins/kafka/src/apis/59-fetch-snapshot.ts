/**
 * FetchSnapshot (key 59), v1: a Raft follower or observer behind the leader's log start
 * fetches a chunk of the metadata snapshot (KIP-630).
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `raft.fetch-snapshot` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { raftWires } from '../cluster/raft-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const fetchSnapshotApi = defineApi({
  apiKey: ApiKey.FetchSnapshot,
  name: 'FetchSnapshot',
  minVersion: 1,
  maxVersion: 1,
  handle: (req, ctx) => serveRpc('raft.fetch-snapshot', raftWires['raft.fetch-snapshot'], req, ctx),
});
