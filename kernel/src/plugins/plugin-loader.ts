/**
 * Loads the plugins named in `plugins=` (npm package names, or paths to a module) and
 * runs their lifecycle. A plugin module's default export (or its `plugin` export) is a
 * `SluicePlugin`. Start and stop each have a deadline; a plugin that fails to start is
 * disabled with a logged reason, unless its manifest marks it required, in which case
 * the broker does not start.
 */
import { isAbsolute, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { BrokerInfo, Kernel, Logger, PluginContext, ProviderName, ProviderSpecs, SluicePlugin } from '@sluice/sdk';
import type { HookDriver } from './hook-driver.js';
import { checkManifest } from './manifest.js';

export const PLUGIN_START_TIMEOUT_MS = 10_000;
export const PLUGIN_STOP_TIMEOUT_MS = 10_000;

export interface LoadedPlugin {
  readonly specifier: string;
  readonly shortName: string;
  readonly plugin: SluicePlugin;
  readonly from: string;
}

/**
 * Where a specifier points: a path (relative to `cwd`), `@sluice/plugin-<name>`, or a
 * package; packages are looked up from `cwd` first, then from Sluice's own installation,
 * so built-in plugins are found wherever the broker is started.
 */
export function resolvePluginSpecifier(specifier: string, cwd: string): string {
  if (specifier.startsWith('.') || isAbsolute(specifier)) return pathToFileURL(resolve(cwd, specifier)).href;
  const candidates = specifier.includes('/') || specifier.startsWith('@') ? [specifier] : [`@sluice/plugin-${specifier}`, specifier];
  for (const base of [resolve(cwd, 'package.json'), import.meta.url]) {
    const require = createRequire(base);
    for (const name of candidates) {
      try {
        return pathToFileURL(require.resolve(name)).href;
      } catch {
        // try the next candidate
      }
    }
  }
  throw new Error(`plugin "${specifier}" not found (looked for ${candidates.join(', ')} from ${cwd} and Sluice's installation)`);
}

/** Imports a plugin module without starting it; throws when it exports no plugin. */
export async function importPlugin(specifier: string, cwd: string): Promise<{ plugin: SluicePlugin; from: string }> {
  const from = resolvePluginSpecifier(specifier, cwd);
  const mod = (await import(from)) as { default?: unknown; plugin?: unknown };
  const candidate = mod.default ?? mod.plugin;
  if (!isPlugin(candidate)) throw new Error('the module exports no plugin (default export with manifest and start)');
  return { plugin: candidate, from };
}

function isPlugin(value: unknown): value is SluicePlugin {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Partial<SluicePlugin>;
  return typeof p.manifest?.id === 'string' && typeof p.manifest.version === 'string' && typeof p.start === 'function';
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export class PluginHost {
  private readonly started: LoadedPlugin[] = [];
  private readonly abort = new AbortController();
  private readonly providers = new Map<ProviderName, { readonly pluginId: string; readonly implementation: unknown }>();

  constructor(private readonly log: Logger, private readonly hooks: HookDriver) {}

  get loaded(): readonly LoadedPlugin[] {
    return this.started;
  }

  /** Loads and starts each plugin in order. Throws only for a required plugin's failure. */
  async startAll(kernel: Kernel, broker: BrokerInfo, specifiers: readonly string[], configs: Readonly<Record<string, Readonly<Record<string, string>>>>,
    shortNameOf: (spec: string) => string, cwd: string): Promise<void> {
    for (const specifier of specifiers) {
      const shortName = shortNameOf(specifier);
      let plugin: SluicePlugin | undefined;
      try {
        const imported = await importPlugin(specifier, cwd);
        plugin = imported.plugin;
        const from = imported.from;
        const config = configs[shortName] ?? {};
        checkManifest(plugin.manifest, new Set(this.started.map((p) => p.plugin.manifest.id)), config);
        const log = childLogger(this.log, plugin.manifest.id);
        const id = plugin.manifest.id;
        const ctx: PluginContext = {
          kernel, broker, log, config, signal: this.abort.signal, hooks: this.hooks,
          on: (name, handler, options) => this.hooks.register(id, log, name, handler, options),
          provide: (name, implementation) => this.provide(id, name, implementation),
        };
        await withDeadline(Promise.resolve(plugin.start(ctx)), PLUGIN_START_TIMEOUT_MS, `plugin ${plugin.manifest.id} start`);
        this.started.push({ specifier, shortName, plugin, from });
        this.log.info('plugin started', { plugin: plugin.manifest.id, version: plugin.manifest.version, from });
      } catch (err) {
        const message = (err as Error).message;
        if (plugin !== undefined) this.removePlugin(plugin.manifest.id);
        if (plugin?.manifest.required === true) throw new Error(`required plugin ${plugin.manifest.id} failed to start: ${message}`);
        this.log.error('plugin disabled: it failed to load or start', { plugin: specifier, error: message });
      }
    }
  }

  /**
   * Tells each started plugin, in start order, that the broker is ready for clients. A
   * failure disables the plugin (stopped and its hooks removed) or, for a required one, throws.
   */
  async serveAll(): Promise<void> {
    for (const loaded of [...this.started]) {
      const { plugin } = loaded;
      if (plugin.serve === undefined) continue;
      try {
        await withDeadline(Promise.resolve(plugin.serve()), PLUGIN_START_TIMEOUT_MS, `plugin ${plugin.manifest.id} serve`);
      } catch (err) {
        const message = (err as Error).message;
        if (plugin.manifest.required === true) throw new Error(`required plugin ${plugin.manifest.id} failed to start serving: ${message}`);
        this.log.error('plugin disabled: it failed to start serving', { plugin: plugin.manifest.id, error: message });
        await this.stopOne(loaded);
        this.started.splice(this.started.indexOf(loaded), 1);
      }
    }
  }

  /**
   * Stops plugins in reverse start order; a failing or slow stop is logged and skipped.
   * Each plugin's hook registrations are removed after its stop, whatever its stop did.
   */
  async stopAll(): Promise<void> {
    this.abort.abort();
    for (const loaded of [...this.started].reverse()) await this.stopOne(loaded);
    this.started.length = 0;
  }

  private async stopOne(loaded: LoadedPlugin): Promise<void> {
    try {
      if (loaded.plugin.stop !== undefined) {
        await withDeadline(Promise.resolve(loaded.plugin.stop()), PLUGIN_STOP_TIMEOUT_MS, `plugin ${loaded.plugin.manifest.id} stop`);
      }
    } catch (err) {
      this.log.error('plugin failed to stop cleanly', { plugin: loaded.plugin.manifest.id, error: (err as Error).message });
    }
    this.removePlugin(loaded.plugin.manifest.id);
  }

  /** The implementation a plugin provides for `name`, if any started plugin does. */
  provider<N extends ProviderName>(name: N): ProviderSpecs[N] | undefined {
    return this.providers.get(name)?.implementation as ProviderSpecs[N] | undefined;
  }

  private provide<N extends ProviderName>(pluginId: string, name: N, implementation: ProviderSpecs[N]): void {
    if (this.hooks.isFrozen()) throw new Error(`plugin ${pluginId} provided ${name} after plugins started`);
    const existing = this.providers.get(name);
    if (existing !== undefined && existing.pluginId !== pluginId) {
      throw new Error(`${name} is already provided by plugin ${existing.pluginId}; a broker has one ${name}`);
    }
    this.providers.set(name, { pluginId, implementation });
  }

  private removePlugin(pluginId: string): void {
    this.hooks.removePlugin(pluginId);
    for (const [name, p] of this.providers) if (p.pluginId === pluginId) this.providers.delete(name);
  }
}

function childLogger(log: Logger, plugin: string): Logger {
  return {
    debug: (msg, fields) => log.debug(msg, { plugin, ...fields }),
    info: (msg, fields) => log.info(msg, { plugin, ...fields }),
    warn: (msg, fields) => log.warn(msg, { plugin, ...fields }),
    error: (msg, fields) => log.error(msg, { plugin, ...fields }),
  };
}
