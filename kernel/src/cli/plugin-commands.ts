/**
 * Commands contributed by the plugins shipped with Sluice. The kernel knows no wire
 * protocol, so commands that speak one (`topics`, `produce`, `consume`: Kafka) live in
 * their plugin's package, which exports `commands` from its `./cli` subpath, and are found
 * at runtime: the kernel never imports a plugin statically.
 */
import type { CliCommand } from '@sluice/sdk';

/** Built-in plugins whose packages may contribute commands, in `sluice --help` order. */
export const BUILT_IN_PLUGINS: readonly string[] = ['kafka'];

export interface PluginCommands {
  readonly commands: readonly CliCommand[];
  /** Plugins whose commands could not be loaded, one line each, for stderr. */
  readonly problems: readonly string[];
}

export async function loadPluginCommands(names: readonly string[] = BUILT_IN_PLUGINS): Promise<PluginCommands> {
  const commands: CliCommand[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const pkg = `@sluice/plugin-${name}`;
    let mod: { commands?: unknown };
    try {
      mod = (await import(`${pkg}/cli`)) as { commands?: unknown };
    } catch (e) {
      // An installation may leave a built-in plugin out, or ship one without commands.
      if (isAbsent(e, pkg)) continue;
      problems.push(`the commands of ${pkg} failed to load: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (!Array.isArray(mod.commands) || !mod.commands.every(isCommand)) {
      problems.push(`${pkg}/cli does not export commands: CliCommand[]`);
      continue;
    }
    commands.push(...mod.commands);
  }
  return { commands, problems };
}

function isAbsent(e: unknown, pkg: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return true;
  // Only the package itself missing: a dependency missing inside it is a broken install.
  return code === 'ERR_MODULE_NOT_FOUND' && (e as Error).message.includes(`'${pkg}`);
}

function isCommand(value: unknown): value is CliCommand {
  const c = value as Partial<CliCommand> | null;
  return typeof c?.name === 'string' && typeof c.summary === 'string' && typeof c.usage === 'string' && typeof c.run === 'function';
}
