/**
 * DescribeQuorum (key 55), v2: the metadata quorum's leader, epoch, high watermark, each replica's progress
 * and the voters' endpoints (Nodes, from the voter set).
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `raft.describe-quorum` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { raftWires } from '../cluster/raft-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const describeQuorumApi = defineApi({
  apiKey: ApiKey.DescribeQuorum,
  name: 'DescribeQuorum',
  minVersion: 2,
  maxVersion: 2,
  handle: (req, ctx) => serveRpc('raft.describe-quorum', raftWires['raft.describe-quorum'], req, ctx),
});
