/**
 * DeleteTopics (key 20), v0-6.
 *
 * Deletes topics by name, or from v6 by name or topic id (UNKNOWN_TOPIC_OR_PARTITION,
 * UNKNOWN_TOPIC_ID when missing; both given: INVALID_REQUEST). A topic named twice gets
 * INVALID_REQUEST, once. With `delete.topic.enable=false` every topic gets
 * TOPIC_DELETION_DISABLED, or INVALID_REQUEST below v3, which predates that code, as Kafka
 * answers. The deletion is complete (metadata committed, files gone) when answered, so
 * `timeout_ms` never runs out. v5+ carry an error message, v6 the topic id.
 * An existing topic is put to the `topic.delete.policy` hook before it is deleted: a
 * rejection is that topic's error code and message.
 */
import { ApiKey, isZeroUuid, uuidEquals, uuidToString, ZERO_UUID, type DeleteTopicsResponse } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineApi, type RequestContext } from './api.js';
import { duplicates, firstOfEach } from './19-create-topics.js';

type TopicResult = DeleteTopicsResponse['responses'][number];

/** TOPIC_DELETION_DISABLED exists from this version on. */
const DELETION_DISABLED_MIN_VERSION = 3;
const TOPIC_IDS_MIN_VERSION = 6;

export const deleteTopicsApi = defineApi({
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  async handle(req, ctx) {
    const wanted = ctx.apiVersion >= TOPIC_IDS_MIN_VERSION
      ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const keyOf = (t: { name: string | null; topicId: Uint8Array }): string => t.name ?? `id:${uuidToString(t.topicId)}`;
    const repeated = duplicates(wanted.map(keyOf));
    const responses = await Promise.all(firstOfEach(wanted, keyOf).map((t): Promise<TopicResult> | TopicResult => {
      const fail = (code: number, message: string): TopicResult => ({ name: t.name, topicId: t.topicId, errorCode: code, errorMessage: message });
      if (repeated.has(keyOf(t))) return fail(ErrorCode.INVALID_REQUEST, `topic ${keyOf(t)} appears more than once in the request`);
      if (!ctx.config.deleteTopicEnable) {
        return fail(ctx.apiVersion >= DELETION_DISABLED_MIN_VERSION ? ErrorCode.TOPIC_DELETION_DISABLED : ErrorCode.INVALID_REQUEST,
          'topic deletion is disabled (delete.topic.enable=false)');
      }
      if (t.name !== null && !isZeroUuid(t.topicId)) return fail(ErrorCode.INVALID_REQUEST, 'give a topic name or a topic id, not both');
      return deleteOne(ctx, t);
    }));
    return { throttleTimeMs: 0, responses };
  },
});

async function deleteOne(ctx: RequestContext, wanted: { readonly name: string | null; readonly topicId: Uint8Array }): Promise<TopicResult> {
  const topic = wanted.name !== null
    ? ctx.kernel.describeTopic(wanted.name)
    : ctx.kernel.listTopics().find((t) => uuidEquals(t.topicId, wanted.topicId));
  if (topic === undefined) {
    return wanted.name !== null
      ? { name: wanted.name, topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${wanted.name} does not exist` }
      : { name: null, topicId: wanted.topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: `no topic has id ${uuidToString(wanted.topicId)}` };
  }
  try {
    if (ctx.hooks.hasHandlers('topic.delete.policy')) {
      const decision = await ctx.hooks.runFirst('topic.delete.policy', {
        connection: ctx.connection, principal: ctx.principal, clientId: ctx.clientId, topic: topic.name,
      });
      if (decision.outcome === 'reject') {
        return { name: topic.name, topicId: topic.topicId, errorCode: decision.errorCode,
          errorMessage: decision.reason ?? `deleting topic ${topic.name} breaks the delete topic policy` };
      }
    }
    await ctx.kernel.deleteTopic(topic.name);
    ctx.log.info('topic deleted', { topic: topic.name, client: ctx.clientId });
    return { name: topic.name, topicId: topic.topicId, errorCode: 0, errorMessage: null };
  } catch (err) {
    return { name: topic.name, topicId: topic.topicId, errorCode: errorCodeOf(err), errorMessage: (err as Error).message };
  }
}
