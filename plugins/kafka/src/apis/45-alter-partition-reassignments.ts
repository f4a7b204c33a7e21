/**
 * AlterPartitionReassignments (key 45), v0: moves partitions to new replica sets, or
 * cancels a move (null replicas), as kafka-reassign-partitions.sh asks.
 *
 * Served for other Sluice nodes and admin clients (see cluster/): the request becomes the
 * `controller.alter-partition-reassignments` cluster RPC for the kernel and its answer the
 * response; a node that is not the active controller answers NOT_CONTROLLER, and clients
 * send it again to the controller Metadata names.
 */
import { ApiKey } from '../protocol/index.js';
import { controllerWires } from '../cluster/controller-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const alterPartitionReassignmentsApi = defineApi({
  apiKey: ApiKey.AlterPartitionReassignments,
  name: 'AlterPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  handle: (req, ctx) => serveRpc('controller.alter-partition-reassignments', controllerWires['controller.alter-partition-reassignments'], req, ctx),
});
