/**
 * DescribeCluster (key 60), v0-1.
 *
 * The cluster id, the active controller (-1 while unknown) and the unfenced brokers, each
 * at the address Metadata advertises for the listener the client came in on (fenced ones
 * are left out, as Kafka does before v2's include_fenced_brokers). v1 (KIP-919): asking a
 * broker listener for controllers (endpoint type 2) gets MISMATCHED_ENDPOINT_TYPE, any
 * type other than brokers (1) UNSUPPORTED_ENDPOINT_TYPE, as Kafka's brokers answer.
 * Authorized operations are not computed (there is no authorizer yet): the field holds
 * Kafka's "not requested" sentinel.
 */
import { ApiKey } from '../protocol/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineApi } from './api.js';
import { brokerEndpoint, liveBrokers } from '../cluster/broker-endpoints.js';

const ENDPOINT_BROKERS = 1;
const ENDPOINT_CONTROLLERS = 2;
/** Kafka's sentinel for "authorized operations not requested". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const describeClusterApi = defineApi({
  apiKey: ApiKey.DescribeCluster,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    const endpointType = ctx.apiVersion >= 1 ? req.endpointType : ENDPOINT_BROKERS;
    const base = {
      throttleTimeMs: 0, endpointType, clusterId: ctx.broker.clusterId, controllerId: ctx.kernel.controllerId(),
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
    if (endpointType !== ENDPOINT_BROKERS) {
      return endpointType === ENDPOINT_CONTROLLERS
        ? { ...base, controllerId: -1, brokers: [], errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
          errorMessage: 'this is a broker listener; controllers are not described here' }
        : { ...base, controllerId: -1, brokers: [], errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
          errorMessage: `unsupported endpoint type ${endpointType}` };
    }
    const brokers = liveBrokers(ctx).map((b) => {
      const { nodeId, host, port, rack } = brokerEndpoint(ctx, b);
      return { brokerId: nodeId, host, port, rack };
    });
    return { ...base, errorCode: 0, errorMessage: null, brokers };
  },
});
