/**
 * AlterConfigs (key 33), v0-2.
 *
 * Kafka's replace semantics: the configs given become the topic's whole override set, and
 * overrides not listed are removed (use IncrementalAlterConfigs to change single keys). The
 * kernel validates the new set as a whole (INVALID_CONFIG, nothing changed) and applies it
 * to the live logs; `validate_only` stops after the check. A null value or a key given
 * twice gets INVALID_REQUEST, as does a resource named twice (once). BROKER resources get
 * INVALID_REQUEST: dynamic broker configs are not implemented yet, broker properties are
 * read from server.properties at start. A missing topic: UNKNOWN_TOPIC_OR_PARTITION.
 * Changes the kernel accepts are put to the `topic.config.policy` hook (also with
 * `validate_only`): a rejection is that resource's error code and message.
 */
import type { TopicConfigInput } from '@sluice/sdk';
import { ApiKey, type AlterConfigsResponse } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineApi, type RequestContext } from './api.js';
import { duplicates, firstOfEach } from './19-create-topics.js';
import { RESOURCE_BROKER, RESOURCE_TOPIC } from './32-describe-configs.js';

type ResourceResult = AlterConfigsResponse['responses'][number];

export interface Failure {
  readonly errorCode: number;
  readonly errorMessage: string;
}

export const alterConfigsApi = defineApi({
  apiKey: ApiKey.AlterConfigs,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const responses = await forEachResource(req.resources, async (r) => {
      const refused = topicRefusal(ctx, r.resourceType, r.resourceName);
      if (refused !== undefined) return refused;
      if (r.configs.some((c) => c.value === null)) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `a null value is not allowed: ${r.configs.filter((c) => c.value === null).map((c) => c.name).join(', ')}` };
      }
      const repeated = duplicates(r.configs.map((c) => c.name));
      if (repeated.size > 0) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `config keys given more than once: ${[...repeated].join(', ')}` };
      const changes = new Map<string, string | null>();
      for (const key of Object.keys(ctx.kernel.describeTopic(r.resourceName)?.configs ?? {})) changes.set(key, null);
      for (const c of r.configs) changes.set(c.name, c.value);
      return applyChanges(ctx, r.resourceName, changes, req.validateOnly, 'AlterConfigs');
    });
    return { throttleTimeMs: 0, responses };
  },
});

/**
 * Runs `alter` once per distinct resource, in request order; a resource named twice gets
 * INVALID_REQUEST instead.
 */
export async function forEachResource<R extends { resourceType: number; resourceName: string }>(
  resources: readonly R[], alter: (r: R) => Promise<Failure | undefined>,
): Promise<ResourceResult[]> {
  const keyOf = (r: R): string => `${r.resourceType}:${r.resourceName}`;
  const repeated = duplicates(resources.map(keyOf));
  return Promise.all(firstOfEach(resources, keyOf).map(async (r) => {
    const failure = repeated.has(keyOf(r))
      ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource ${r.resourceName} appears more than once in the request` }
      : await alter(r);
    return { resourceType: r.resourceType, resourceName: r.resourceName, errorCode: failure?.errorCode ?? 0, errorMessage: failure?.errorMessage ?? null };
  }));
}

/** Why a resource cannot be altered, unless it is an existing topic. */
export function topicRefusal(ctx: RequestContext, type: number, name: string): Failure | undefined {
  if (type === RESOURCE_BROKER) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'dynamic broker configs are not supported yet: set broker properties in server.properties and restart',
    };
  }
  if (type !== RESOURCE_TOPIC) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${type} is not supported` };
  if (ctx.kernel.describeTopic(name) === undefined) {
    return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${name} does not exist` };
  }
  return undefined;
}

export async function applyChanges(ctx: RequestContext, topic: string, changes: ReadonlyMap<string, string | null>,
  validateOnly: boolean, via: TopicConfigInput['via']): Promise<Failure | undefined> {
  try {
    const asked = Object.fromEntries(changes);
    if (ctx.hooks.hasHandlers('topic.config.policy')) {
      // The kernel's verdict first, so an invalid value is reported as such, not as a policy matter.
      await ctx.kernel.alterTopicConfigs(topic, asked, { validateOnly: true });
      const decision = await ctx.hooks.runFirst('topic.config.policy', {
        connection: ctx.connection, principal: ctx.principal, clientId: ctx.clientId, topic, changes: asked, via, validateOnly,
      });
      if (decision.outcome === 'reject') {
        return { errorCode: decision.errorCode, errorMessage: decision.reason ?? `changing configs of ${topic} breaks the alter config policy` };
      }
    }
    await ctx.kernel.alterTopicConfigs(topic, asked, { validateOnly });
    if (!validateOnly) ctx.log.info('topic configs altered', { topic, changes: Object.fromEntries(changes), client: ctx.clientId });
    return undefined;
  } catch (err) {
    return { errorCode: errorCodeOf(err), errorMessage: (err as Error).message };
  }
}
