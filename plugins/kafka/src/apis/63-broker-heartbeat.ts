/**
 * BrokerHeartbeat (key 63), v1: a registered broker's heartbeat to the controller.
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `controller.heartbeat` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { controllerWires } from '../cluster/controller-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const brokerHeartbeatApi = defineApi({
  apiKey: ApiKey.BrokerHeartbeat,
  name: 'BrokerHeartbeat',
  minVersion: 1,
  maxVersion: 1,
  handle: (req, ctx) => serveRpc('controller.heartbeat', controllerWires['controller.heartbeat'], req, ctx),
});
