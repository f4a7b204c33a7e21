/**
 * Admin requests another node forwards to this one as the active controller: CreateTopics,
 * DeleteTopics, CreatePartitions and IncrementalAlterConfigs sent by the cluster transport
 * (client id CLUSTER_CLIENT_ID) at the versions it uses. The dispatcher gives them these
 * handlers instead of the client-facing ones, so they reach the controller as the
 * `controller.*` RPCs, replication factors and assignments included, rather than being
 * forwarded again.
 */
import type { ClusterRpcName } from '@sluice/sdk';
import type { KnownApiKey } from '../protocol/index.js';
import { defineApi, type ApiHandler } from '../apis/api.js';
import { controllerWires } from './controller-wire.js';
import type { RpcWire } from './rpc-wire.js';
import { serveRpc } from './serve-rpc.js';

function forwarded<K extends ClusterRpcName, A extends KnownApiKey>(rpc: K, wire: RpcWire<K, A>, name: string): ApiHandler {
  return defineApi({
    apiKey: wire.apiKey,
    name: `${name} (forwarded)`,
    minVersion: wire.version,
    maxVersion: wire.version,
    handle: (req, ctx) => serveRpc(rpc, wire, req, ctx),
  }) as ApiHandler;
}

export const forwardedApis: readonly ApiHandler[] = [
  forwarded('controller.create-topics', controllerWires['controller.create-topics'], 'CreateTopics'),
  forwarded('controller.delete-topics', controllerWires['controller.delete-topics'], 'DeleteTopics'),
  forwarded('controller.create-partitions', controllerWires['controller.create-partitions'], 'CreatePartitions'),
  forwarded('controller.alter-configs', controllerWires['controller.alter-configs'], 'IncrementalAlterConfigs'),
];
