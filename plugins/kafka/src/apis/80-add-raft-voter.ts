/**
 * AddRaftVoter (key 80), v0: an operator's tool asks the active controller to make a caught-up
 * observer of the metadata log a voter (KIP-853; `sluice metadata quorum add-controller`).
 *
 * The request becomes the `raft.add-voter` cluster RPC for the kernel, which answers once the
 * new voter set is committed or refused (not the leader, a change pending, not caught up, a
 * duplicate voter). A cluster id naming another cluster is INCONSISTENT_CLUSTER_ID; none
 * (null) is taken as this node's, as Kafka does.
 */
import { ApiKey } from '../protocol/index.js';
import { voterWires } from '../cluster/voter-wire.js';
import { clusterIdMismatch } from '../cluster/voter-cluster-id.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const addRaftVoterApi = defineApi({
  apiKey: ApiKey.AddRaftVoter,
  name: 'AddRaftVoter',
  minVersion: 0,
  maxVersion: 0,
  handle: (req, ctx) => {
    const mismatch = clusterIdMismatch(req.clusterId, ctx.broker.clusterId);
    if (mismatch !== null) return { throttleTimeMs: 0, ...mismatch };
    return serveRpc('raft.add-voter', voterWires['raft.add-voter'], { ...req, clusterId: ctx.broker.clusterId }, ctx);
  },
});
