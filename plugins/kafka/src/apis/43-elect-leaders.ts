/**
 * ElectLeaders (key 43), v0-2: preferred or unclean (v1+) leader elections; v0 asks for
 * preferred ones. Other nodes send v2.
 *
 * Served for other Sluice nodes and admin clients (see cluster/): the request becomes the
 * `controller.elect-leaders` cluster RPC for the kernel and its answer the response; a
 * KafkaError from the kernel is the response's error code.
 */
import { ApiKey } from '../protocol/index.js';
import { controllerWires } from '../cluster/controller-wire.js';
import { serveRpc } from '../cluster/serve-rpc.js';
import { defineApi } from './api.js';

export const electLeadersApi = defineApi({
  apiKey: ApiKey.ElectLeaders,
  name: 'ElectLeaders',
  minVersion: 0,
  maxVersion: 2,
  handle: (req, ctx) => serveRpc('controller.elect-leaders', controllerWires['controller.elect-leaders'], req, ctx),
});
