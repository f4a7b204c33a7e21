/**
 * IncrementalAlterConfigs (key 44), v0-1.
 *
 * Changes single topic config overrides: SET (0) sets one, DELETE (1) removes it (the
 * broker's or Kafka's default applies again), APPEND (2) and SUBTRACT (3) add or remove
 * items of a list config such as `cleanup.policy` (INVALID_CONFIG for other types). APPEND
 * and SUBTRACT start from the topic's effective value, so appending to a value the topic
 * inherits from the broker keeps what it inherited. The kernel validates the resulting set
 * as a whole (INVALID_CONFIG, nothing changed); `validate_only` stops after the check.
 * A key given twice, a null value for SET, APPEND or SUBTRACT, an unknown operation, or a
 * resource named twice get INVALID_REQUEST. BROKER resources get INVALID_REQUEST, as
 * dynamic broker configs are not implemented yet. Accepted changes are put to the
 * `topic.config.policy` hook, as in AlterConfigs.
 */
import type { Decoded } from '../protocol/reader.js';
import { ApiKey, type IncrementalAlterConfigsRequest } from '../protocol/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineApi, type RequestContext } from './api.js';
import { duplicates } from './19-create-topics.js';
import { applyChanges, forEachResource, topicRefusal, type Failure } from './33-alter-configs.js';

type Resource = Decoded<IncrementalAlterConfigsRequest['resources'][number]>;

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

export const incrementalAlterConfigsApi = defineApi({
  apiKey: ApiKey.IncrementalAlterConfigs,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const responses = await forEachResource(req.resources, async (r) => {
      const refused = topicRefusal(ctx, r.resourceType, r.resourceName);
      if (refused !== undefined) return refused;
      const changes = changesOf(ctx, r);
      return changes instanceof Map ? applyChanges(ctx, r.resourceName, changes, req.validateOnly, 'IncrementalAlterConfigs') : changes;
    });
    return { throttleTimeMs: 0, responses };
  },
});

function changesOf(ctx: RequestContext, r: Resource): Map<string, string | null> | Failure {
  const invalid = (errorMessage: string): Failure => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage });
  const repeated = duplicates(r.configs.map((c) => c.name));
  if (repeated.size > 0) return invalid(`config keys given more than once: ${[...repeated].join(', ')}`);
  const current = new Map((ctx.kernel.describeTopicConfigs(r.resourceName) ?? []).map((e) => [e.name, e]));
  const changes = new Map<string, string | null>();
  for (const c of r.configs) {
    if (c.configOperation === DELETE) {
      changes.set(c.name, null);
      continue;
    }
    if (c.configOperation !== SET && c.configOperation !== APPEND && c.configOperation !== SUBTRACT) {
      return invalid(`unknown config operation ${c.configOperation} for ${c.name}`);
    }
    if (c.value === null) return invalid(`a null value is not allowed for ${c.name}`);
    if (c.configOperation === SET) {
      changes.set(c.name, c.value);
      continue;
    }
    const entry = current.get(c.name);
    if (entry === undefined) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `${c.name}: unknown topic config` };
    if (entry.type !== 'list') {
      return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `${c.name} is not a list: APPEND and SUBTRACT apply to list configs only` };
    }
    const items = listItems(entry.value ?? '');
    const given = listItems(c.value);
    const next = c.configOperation === APPEND
      ? [...items, ...given.filter((item, i) => !items.includes(item) && given.indexOf(item) === i)]
      : items.filter((item) => !given.includes(item));
    changes.set(c.name, next.join(','));
  }
  return changes;
}

function listItems(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
