/**
 * EndQuorumEpoch (key 54), v0-v1: a Raft leader stepping down gracefully tells a voter, so
 * that the voters elect a successor at once.
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `raft.end-quorum-epoch` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { raftWires } from '../cluster/raft-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const endQuorumEpochApi = defineApi({
  apiKey: ApiKey.EndQuorumEpoch,
  name: 'EndQuorumEpoch',
  minVersion: 0,
  maxVersion: 1,
  handle: (req, ctx) => serveRpc('raft.end-quorum-epoch', raftWires['raft.end-quorum-epoch'], req, ctx),
});
