/**
 * AlterPartition (key 56), v3: a partition leader asks the controller to change the ISR.
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `controller.alter-partition` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { controllerWires } from '../cluster/controller-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const alterPartitionApi = defineApi({
  apiKey: ApiKey.AlterPartition,
  name: 'AlterPartition',
  minVersion: 3,
  maxVersion: 3,
  handle: (req, ctx) => serveRpc('controller.alter-partition', controllerWires['controller.alter-partition'], req, ctx),
});
