/**
 * DescribeConfigs (key 32), v0-4.
 *
 * Resources: TOPIC (2), every topic config with its effective value (UNKNOWN_TOPIC_OR_PARTITION
 * for a missing topic); BROKER (4) named by this node's id, the broker properties, all
 * read-only as nothing is dynamically alterable yet; BROKER named '' (the cluster-wide
 * dynamic defaults) has no entries, since there are no dynamic configs. Another broker id
 * or any other resource type gets INVALID_REQUEST for that resource.
 * `configuration_keys` filters (null: all; unknown keys are left out, as Kafka does).
 * v0 reports `is_default` (the value is Kafka's default); v1+ the source instead, and the
 * synonyms when `include_synonyms` is set; v3+ the config type and, when asked, its
 * documentation. Sensitive values are never returned.
 */
import type { ConfigEntry, ConfigSource } from '@sluice/sdk';
import { ApiKey, type DescribeConfigsResponse } from '../protocol/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineApi, type RequestContext } from './api.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

/** Kafka's DescribeConfigsResponse.ConfigSource ids. */
const CONFIG_SOURCE_IDS: Readonly<Record<ConfigSource, number>> = {
  topic: 1, // TOPIC_CONFIG
  'static-broker': 4, // STATIC_BROKER_CONFIG
  default: 5, // DEFAULT_CONFIG
};

/** Kafka's DescribeConfigsResponse.ConfigType ids, by the kernel's type names. */
const CONFIG_TYPE_IDS: Readonly<Record<string, number>> = {
  boolean: 1, string: 2, int: 3, short: 4, long: 5, double: 6, list: 7, class: 8, password: 9,
};
const CONFIG_TYPE_UNKNOWN = 0;

export function configSourceId(source: ConfigSource): number {
  return CONFIG_SOURCE_IDS[source];
}

type ResourceResult = DescribeConfigsResponse['results'][number];
type ConfigResult = ResourceResult['configs'][number];

export const describeConfigsApi = defineApi({
  apiKey: ApiKey.DescribeConfigs,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const synonyms = v >= 1 && req.includeSynonyms;
    const documentation = v >= 3 && req.includeDocumentation;
    return {
      throttleTimeMs: 0,
      results: req.resources.map((r): ResourceResult => {
        const out: ResourceResult = {
          errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [],
        };
        const found = lookup(ctx, r.resourceType, r.resourceName);
        if ('errorCode' in found) return { ...out, ...found };
        const wanted = r.configurationKeys === null ? undefined : new Set(r.configurationKeys);
        const entries = wanted === undefined ? found.entries : found.entries.filter((e) => wanted.has(e.name));
        return { ...out, configs: entries.map((e) => toWire(e, synonyms, documentation)) };
      }),
    };
  },
});

function lookup(ctx: RequestContext, type: number, name: string):
  { entries: readonly ConfigEntry[] } | { errorCode: number; errorMessage: string } {
  if (type === RESOURCE_TOPIC) {
    const entries = ctx.kernel.describeTopicConfigs(name);
    return entries === undefined
      ? { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${name} does not exist` }
      : { entries };
  }
  if (type === RESOURCE_BROKER) {
    if (name === '') return { entries: [] };
    if (name === String(ctx.kernel.nodeId)) return { entries: ctx.kernel.describeBrokerConfigs() };
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unexpected broker id ${name}: this is broker ${ctx.kernel.nodeId}` };
  }
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${type} is not supported` };
}

function toWire(e: ConfigEntry, withSynonyms: boolean, withDocumentation: boolean): ConfigResult {
  return {
    name: e.name,
    value: e.sensitive ? null : e.value,
    readOnly: e.readOnly,
    isDefault: e.source === 'default',
    configSource: configSourceId(e.source),
    isSensitive: e.sensitive,
    synonyms: withSynonyms
      ? e.synonyms.map((s) => ({ name: s.name, value: e.sensitive ? null : s.value, source: configSourceId(s.source) }))
      : [],
    configType: CONFIG_TYPE_IDS[e.type] ?? CONFIG_TYPE_UNKNOWN,
    documentation: withDocumentation ? e.doc : null,
  };
}
