/**
 * ListPartitionReassignments (key 46), v0: the partitions being reassigned, with their
 * replicas and the replicas being added and removed.
 *
 * Served for other Sluice nodes and admin clients (see cluster/): the request becomes the
 * `controller.list-partition-reassignments` cluster RPC for the kernel and its answer the
 * response; a node that is not the active controller answers NOT_CONTROLLER.
 */
import { ApiKey } from '../protocol/index.js';
import { controllerWires } from '../cluster/controller-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const listPartitionReassignmentsApi = defineApi({
  apiKey: ApiKey.ListPartitionReassignments,
  name: 'ListPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  handle: (req, ctx) => serveRpc('controller.list-partition-reassignments', controllerWires['controller.list-partition-reassignments'], req, ctx),
});
