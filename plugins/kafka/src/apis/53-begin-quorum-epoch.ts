/**
 * BeginQuorumEpoch (key 53), v1: a new Raft leader announces its epoch to a voter.
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `raft.begin-quorum-epoch` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { raftWires } from '../cluster/raft-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const beginQuorumEpochApi = defineApi({
  apiKey: ApiKey.BeginQuorumEpoch,
  name: 'BeginQuorumEpoch',
  minVersion: 1,
  maxVersion: 1,
  handle: (req, ctx) => serveRpc('raft.begin-quorum-epoch', raftWires['raft.begin-quorum-epoch'], req, ctx),
});
