/**
 * `sluice plugins list|info`: what `plugins=` configures, where each entry resolves
 * from, its manifest and its config keys, without starting a broker. Plugin modules are
 * imported (their top-level code runs) but not started.
 */
import { fileURLToPath } from 'node:url';
import { SDK_VERSION, type PluginManifest } from '@sluice/sdk';
import semver from 'semver';
import { pluginShortName } from '../config/broker-config.js';
import { configProblems } from '../plugins/manifest.js';
import { importPlugin } from '../plugins/plugin-loader.js';
import { parseArgs, UsageError, type CliContext, type Command } from './args.js';
import { loadConfig } from './load-config.js';

const usage = `Usage: sluice plugins list [server.properties] [--override key=value ...]
       sluice plugins info <name> [server.properties] [--override key=value ...]

list: every entry of plugins= (in start order), the module it resolves to, and its
      manifest's id and version, or why it cannot be loaded.
info: one plugin (its short name, id or plugins= entry): manifest, SDK compatibility,
      dependencies, its config keys from its schema and the values configured for them.

Options:
  --override key=value   Set a property, after the file; may repeat.
  -h, --help             Show this help.
`;

/** Values of keys that look secret are not printed. */
const SECRET_KEY = /password|secret|token|credential/i;

interface Entry {
  readonly specifier: string;
  readonly shortName: string;
  readonly loaded: { readonly manifest: PluginManifest; readonly from: string } | { readonly error: string };
}

async function entries(specifiers: readonly string[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const specifier of specifiers) {
    const shortName = pluginShortName(specifier);
    try {
      const { plugin, from } = await importPlugin(specifier, process.cwd());
      out.push({ specifier, shortName, loaded: { manifest: plugin.manifest, from: from.startsWith('file:') ? fileURLToPath(from) : from } });
    } catch (err) {
      out.push({ specifier, shortName, loaded: { error: (err as Error).message } });
    }
  }
  return out;
}

function sdkVerdict(range: string | undefined): string {
  if (range === undefined) return 'not declared';
  if (semver.validRange(range) === null) return `${range} (not a semver range)`;
  return `${range} (${semver.satisfies(SDK_VERSION, range) ? 'compatible with' : 'INCOMPATIBLE with'} ${SDK_VERSION})`;
}

function info(e: Entry, config: Readonly<Record<string, string>>): string {
  const lines = [`plugin:      ${e.specifier}`, `config keys: ${e.shortName}.*`];
  if ('error' in e.loaded) return [...lines, `error:       ${e.loaded.error}`, ''].join('\n');
  const m = e.loaded.manifest;
  lines.push(`id:          ${m.id}`, `version:     ${m.version}`, `from:        ${e.loaded.from}`, `sdk:         ${sdkVerdict(m.sdk)}`,
    `required:    ${m.required === true ? 'yes (the broker does not start without it)' : 'no (disabled if it fails to start)'}`,
    `depends on:  ${(m.dependsOn ?? []).join(', ') || 'nothing'}`);
  if (m.description !== undefined) lines.push(`description: ${m.description}`);
  const properties = (m.configSchema?.['properties'] ?? {}) as Record<string, { type?: unknown; default?: unknown; description?: unknown }>;
  const keys = [...new Set([...Object.keys(properties), ...Object.keys(config)])].sort();
  lines.push(m.configSchema === undefined ? `config:      no schema declared${keys.length === 0 ? '' : '; set:'}` : 'config:');
  for (const key of keys) {
    const p = properties[key];
    const set = config[key];
    const value = set === undefined ? '(not set)' : SECRET_KEY.test(key) ? '(set, hidden)' : JSON.stringify(set);
    const type = p === undefined ? 'not in schema' : [p.type, p.default === undefined ? undefined : `default ${JSON.stringify(p.default)}`]
      .filter((x) => x !== undefined).join(', ');
    lines.push(`  ${e.shortName}.${key} = ${value}  [${type}]${typeof p?.description === 'string' ? `  ${p.description}` : ''}`);
  }
  if (m.configSchema !== undefined) {
    const problems = configProblems(m.configSchema, config);
    lines.push(problems.length === 0 ? 'config is valid' : `config is INVALID: ${problems.join('; ')}`);
  }
  return `${lines.join('\n')}\n`;
}

async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(argv, { values: ['override'] });
  if (args.flags.has('help')) {
    ctx.stdout(usage);
    return 0;
  }
  const [sub, ...rest] = args.positionals;
  const wanted = sub === 'info' ? rest.shift() : undefined;
  if (sub !== 'list' && sub !== 'info') throw new UsageError('expected list or info');
  if (sub === 'info' && wanted === undefined) throw new UsageError('info needs a plugin name');
  if (rest.length > 1) throw new UsageError('expected at most one properties file');
  const config = loadConfig(rest[0], args.values.get('override') ?? [], (msg) => ctx.stderr(`warning: ${msg}\n`));
  const all = await entries(config.plugins);
  if (sub === 'list') {
    if (all.length === 0) ctx.stdout('no plugins configured (plugins= is empty)\n');
    for (const e of all) {
      const what = 'error' in e.loaded ? `cannot load: ${e.loaded.error}`
        : `${e.loaded.manifest.id}@${e.loaded.manifest.version}${e.loaded.manifest.required === true ? ' required' : ''}  ${e.loaded.from}`;
      ctx.stdout(`${e.shortName.padEnd(16)}${what}\n`);
    }
    return all.some((e) => 'error' in e.loaded) ? 1 : 0;
  }
  const e = all.find((x) => x.shortName === wanted || x.specifier === wanted || ('manifest' in x.loaded && x.loaded.manifest.id === wanted));
  if (e === undefined) {
    ctx.stderr(`error: no plugin "${wanted}" in plugins= (${config.plugins.join(', ') || 'empty'})\n`);
    return 1;
  }
  ctx.stdout(info(e, config.pluginConfigs[e.shortName] ?? {}));
  return 'error' in e.loaded ? 1 : 0;
}

export const pluginsCommand: Command = { name: 'plugins', summary: 'List the configured plugins, or show one', usage, run };
