/**
 * CreatePartitions (key 37), v0-3.
 *
 * Grows each topic to `count` partitions (or, with `validate_only`, only checks that it
 * could): the kernel answers UNKNOWN_TOPIC_OR_PARTITION and INVALID_PARTITIONS (the count
 * must grow). `assignments` must be null or, on a single node, one entry per new partition
 * holding only this node; anything else gets INVALID_REPLICA_ASSIGNMENT. In a cluster the
 * controller places new partitions and any explicit assignment is refused (the kernel has
 * no way to take one yet, and accepting it to place replicas elsewhere would mislead).
 * A topic named twice gets INVALID_REQUEST, once.
 */
import type { Decoded } from '../protocol/reader.js';
import { ApiKey, type CreatePartitionsRequest, type CreatePartitionsResponse } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineApi, type RequestContext } from './api.js';
import { duplicates, firstOfEach } from './19-create-topics.js';
import { knownBrokers } from '../cluster/broker-endpoints.js';

type TopicResult = CreatePartitionsResponse['results'][number];
type Topic = Decoded<CreatePartitionsRequest['topics'][number]>;

export const createPartitionsApi = defineApi({
  apiKey: ApiKey.CreatePartitions,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const repeated = duplicates(req.topics.map((t) => t.name));
    const results = await Promise.all(firstOfEach(req.topics, (t) => t.name).map((t) => repeated.has(t.name)
      ? { name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic ${t.name} appears more than once in the request` }
      : growOne(ctx, t, req.validateOnly)));
    return { throttleTimeMs: 0, results };
  },
});

async function growOne(ctx: RequestContext, t: Topic, validateOnly: boolean): Promise<TopicResult> {
  const fail = (errorCode: number, errorMessage: string): TopicResult => ({ name: t.name, errorCode, errorMessage });
  const current = ctx.kernel.describeTopic(t.name);
  if (current === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${t.name} does not exist`);
  if (t.assignments !== null) {
    const added = t.count - current.partitions;
    if (added > 0 && t.assignments.length !== added) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${added} partitions are added but ${t.assignments.length} assignments were given`);
    }
    if (knownBrokers(ctx).length > 1) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'explicit assignments of new partitions are not taken in a cluster: the controller places them');
    }
    const bad = t.assignments.find((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.kernel.nodeId);
    if (bad !== undefined) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `assignment [${bad.brokerIds.join(', ')}] is not possible: this single-node cluster has only broker ${ctx.kernel.nodeId}`);
    }
  }
  try {
    await ctx.kernel.createPartitions(t.name, t.count, { validateOnly });
    if (!validateOnly) ctx.log.info('partitions added', { topic: t.name, from: current.partitions, to: t.count, client: ctx.clientId });
    return { name: t.name, errorCode: 0, errorMessage: null };
  } catch (err) {
    return fail(errorCodeOf(err), (err as Error).message);
  }
}
