import { ConfigError } from '../config/config-def.js';
import { FormatError } from '../config/meta-properties.js';
import { UsageError, type CliContext, type Command } from './args.js';
import { formatCommand } from './format.js';
import { ConfigFileError } from './load-config.js';
import { startCommand } from './start.js';
import { versionCommand } from './version.js';

const COMMANDS: readonly Command[] = [startCommand, formatCommand, versionCommand];

const usage = `Usage: sluice <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`).join('\n')}

Run sluice <command> --help for a command's options.
`;

/**
 * Runs one command and returns the exit code: 0 done, 1 failed, 2 bad usage or bad
 * configuration (nothing was started). Errors are printed as one line, without a stack:
 * they are the operator's to fix, not bugs.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    ctx.stdout(usage);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    ctx.stderr(name === undefined ? usage : `error: unknown command ${name}\n\n${usage}`);
    return 2;
  }
  try {
    return await command.run(rest, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      ctx.stderr(`error: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    ctx.stderr(`error: ${message}\n`);
    return e instanceof ConfigError || e instanceof FormatError || e instanceof ConfigFileError ? 2 : 1;
  }
}
