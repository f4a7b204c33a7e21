/**
 * AllocateProducerIds (key 67), v0: a broker asks the controller for a block of producer ids.
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `controller.allocate-producer-ids` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { controllerWires } from '../cluster/controller-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const allocateProducerIdsApi = defineApi({
  apiKey: ApiKey.AllocateProducerIds,
  name: 'AllocateProducerIds',
  minVersion: 0,
  maxVersion: 0,
  handle: (req, ctx) => serveRpc('controller.allocate-producer-ids', controllerWires['controller.allocate-producer-ids'], req, ctx),
});
