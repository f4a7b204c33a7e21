/**
 * Checks a plugin's manifest before it starts: the SDK range against this SDK's version,
 * its dependencies against the plugins already started, and its configuration against
 * its JSON Schema. Each failure is one message an operator can act on.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import semver from 'semver';
import { SDK_VERSION, type PluginManifest } from '@sluice/sdk';

// One instance: compiled schemas are cached per schema object. `coerceTypes` because
// server.properties values are strings: "integer" accepts "5", "boolean" accepts "true".
const ajv = new Ajv({ allErrors: true, coerceTypes: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

/** Throws with every reason the plugin must not start. */
export function checkManifest(manifest: PluginManifest, startedIds: ReadonlySet<string>, config: Readonly<Record<string, string>>): void {
  const problems: string[] = [];
  if (manifest.sdk !== undefined) {
    if (semver.validRange(manifest.sdk) === null) problems.push(`its sdk range "${manifest.sdk}" is not a semver range`);
    else if (!semver.satisfies(SDK_VERSION, manifest.sdk)) problems.push(`it needs @sluice/sdk ${manifest.sdk}, this broker has ${SDK_VERSION}`);
  }
  for (const dep of manifest.dependsOn ?? []) {
    if (!startedIds.has(dep)) problems.push(`it depends on plugin "${dep}", which has not started (list it earlier in plugins=)`);
  }
  if (manifest.configSchema !== undefined) problems.push(...configProblems(manifest.configSchema, config));
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/** What is wrong with `config` under `schema`, one line per error; empty when it is valid. */
export function configProblems(schema: Readonly<Record<string, unknown>>, config: Readonly<Record<string, string>>): string[] {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      return [`its configSchema is not a valid JSON Schema: ${(err as Error).message}`];
    }
    compiled.set(schema, validate);
  }
  // A copy: coercion rewrites values in place, and the plugin gets the strings as given.
  if (validate({ ...config })) return [];
  return (validate.errors ?? []).map((e) => `config ${e.instancePath === '' ? '' : `${e.instancePath.slice(1)} `}${e.message ?? 'is invalid'}`
    + (e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})` : ''));
}
