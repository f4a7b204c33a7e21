import fs from 'node:fs';
import { parseArgs, type CliContext, type Command } from './args.js';

const usage = `Usage: sluice version

Prints the version of Sluice.
`;

/** From kernel/package.json, two levels up from both src/cli and dist/cli. */
export function readVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('kernel/package.json has no version');
  return pkg.version;
}

async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(argv, {});
  ctx.stdout(args.flags.has('help') ? usage : `sluice ${readVersion()}\n`);
  return 0;
}

export const versionCommand: Command = { name: 'version', summary: 'Print the version', usage, run };
