/**
 * RemoveRaftVoter (key 81), v0: an operator's tool asks the active controller to remove a
 * voter from the metadata quorum (KIP-853; `sluice metadata quorum remove-controller`).
 *
 * The request becomes the `raft.remove-voter` cluster RPC for the kernel, which answers once
 * the new voter set is committed or refused (not the leader, a change pending, no such voter,
 * the last voter). A cluster id naming another cluster is INCONSISTENT_CLUSTER_ID; none
 * (null) is taken as this node's, as Kafka does.
 */
import { ApiKey } from '../protocol/index.js';
import { voterWires } from '../cluster/voter-wire.js';
import { clusterIdMismatch } from '../cluster/voter-cluster-id.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const removeRaftVoterApi = defineApi({
  apiKey: ApiKey.RemoveRaftVoter,
  name: 'RemoveRaftVoter',
  minVersion: 0,
  maxVersion: 0,
  handle: (req, ctx) => {
    const mismatch = clusterIdMismatch(req.clusterId, ctx.broker.clusterId);
    if (mismatch !== null) return { throttleTimeMs: 0, ...mismatch };
    return serveRpc('raft.remove-voter', voterWires['raft.remove-voter'], { ...req, clusterId: ctx.broker.clusterId }, ctx);
  },
});
