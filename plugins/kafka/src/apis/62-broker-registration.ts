/**
 * BrokerRegistration (key 62), v4: a broker registers with the controller (at start, and again after a restart).
 *
 * Served for other Sluice nodes (see cluster/): the request becomes the
 * `controller.register-broker` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { controllerWires } from '../cluster/controller-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const brokerRegistrationApi = defineApi({
  apiKey: ApiKey.BrokerRegistration,
  name: 'BrokerRegistration',
  minVersion: 4,
  maxVersion: 4,
  handle: (req, ctx) => serveRpc('controller.register-broker', controllerWires['controller.register-broker'], req, ctx),
});
