/**
 * Metadata's auto-creation when this node's metadata lags the controller: the controller
 * already has the topic, so creating it fails with TOPIC_ALREADY_EXISTS while this node
 * cannot describe it yet. Clients must get a retriable code, not that one.
 */
import { KafkaError, type Kernel } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../error-codes.js';
import type { RequestContext } from './api.js';
import { metadataApi } from './03-metadata.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const listener = { name: 'PLAINTEXT', host: '', port: 9092, securityProtocol: 'PLAINTEXT' };

function context(createError: number): RequestContext {
  const kernel = {
    nodeId: 1,
    brokers: () => [{ nodeId: 1, rack: null, fenced: false, listeners: [listener] }],
    controllerId: () => 1,
    describeTopic: () => undefined,
    createTopic: () => Promise.reject(new KafkaError(createError, 'CODE', 'from the controller')),
  } as unknown as Kernel;
  return {
    kernel, apiVersion: 12, log: quiet, clientId: 'test',
    config: { autoCreateTopicsEnable: true, numPartitions: 1 },
    hooks: { hasHandlers: () => false },
    broker: { nodeId: 1, clusterId: 'c', listeners: [listener], advertisedListeners: [listener], props: {} },
    connection: { listener: 'PLAINTEXT', localAddress: '127.0.0.1' },
  } as unknown as RequestContext;
}

async function autoCreate(createError: number): Promise<number> {
  const res = await metadataApi.handle({
    topics: [{ name: 't', topicId: new Uint8Array(16) }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false,
  } as never, context(createError)) as unknown as { topics: Array<{ errorCode: number }> };
  return res.topics[0]!.errorCode;
}

describe('Metadata auto-creation', () => {
  it('answers LEADER_NOT_AVAILABLE for a topic the controller has and this node does not show yet', async () => {
    expect(await autoCreate(ErrorCode.TOPIC_ALREADY_EXISTS)).toBe(ErrorCode.LEADER_NOT_AVAILABLE);
  });

  it('passes other refusals through', async () => {
    expect(await autoCreate(ErrorCode.INVALID_REPLICATION_FACTOR)).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  });
});
