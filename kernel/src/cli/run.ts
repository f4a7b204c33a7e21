import type { CliCommand } from '@sluice/sdk';
import { ConfigError } from '../config/config-def.js';
import { FormatError } from '../config/meta-properties.js';
import { UsageError, type CliContext, type Command } from './args.js';
import { formatCommand } from './format.js';
import { ConfigFileError } from './load-config.js';
import { loadPluginCommands, type PluginCommands } from './plugin-commands.js';
import { pluginsCommand } from './plugins.js';
import { startCommand } from './start.js';
import { versionCommand } from './version.js';

const COMMANDS: readonly Command[] = [startCommand, formatCommand, pluginsCommand, versionCommand];

function usage(commands: ReadonlyArray<Command | CliCommand>): string {
  // Plugins contribute names longer than the built-in ones (transactions, partitions).
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `Usage: sluice <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Run sluice <command> --help for a command's options.
`;
}

/**
 * Runs one command and returns the exit code: 0 done, 1 failed, 2 bad usage or bad
 * configuration (nothing was started). Errors are printed as one line, without a stack:
 * they are the operator's to fix, not bugs. Plugin commands are loaded only for a name
 * that is not the kernel's, so that `start` does not load them.
 */
export async function runCli(
  argv: readonly string[],
  ctx: CliContext,
  pluginCommands: () => Promise<PluginCommands> = loadPluginCommands,
): Promise<number> {
  const [name, ...rest] = argv;
  let command: Command | CliCommand | undefined = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    const plugins = await pluginCommands();
    for (const problem of plugins.problems) ctx.stderr(`warning: ${problem}\n`);
    const all = [...COMMANDS, ...plugins.commands.filter((p) => !COMMANDS.some((c) => c.name === p.name))];
    if (name === '--help' || name === '-h') {
      ctx.stdout(usage(all));
      return 0;
    }
    command = all.find((c) => c.name === name);
    if (command === undefined) {
      ctx.stderr(name === undefined ? usage(all) : `error: unknown command ${name}\n\n${usage(all)}`);
      return 2;
    }
  }
  try {
    return await command.run(rest, ctx);
  } catch (e) {
    if (UsageError.is(e)) {
      ctx.stderr(`error: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    ctx.stderr(`error: ${message}\n`);
    return e instanceof ConfigError || e instanceof FormatError || e instanceof ConfigFileError ? 2 : 1;
  }
}
