/** Option handling shared by the Kafka commands. */
import { CliUsageError, type Args } from '@sluice/sdk';
import { DEFAULT_BOOTSTRAP, parseHostPort } from './client.js';

export const BOOTSTRAP_USAGE = `  --bootstrap-server host:port   The broker to connect to (default ${DEFAULT_BOOTSTRAP}).`;

/** The option's value, when given once; a usage error when given twice. */
export function single(args: Args, name: string): string | undefined {
  const values = args.values.get(name) ?? [];
  if (values.length > 1) throw new CliUsageError(`--${name} is given more than once`);
  return values[0];
}

export function integer(args: Args, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = single(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || value < min || value > max) {
    throw new CliUsageError(`--${name} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got ${text}`);
  }
  return value;
}

export function bootstrap(args: Args): string {
  const address = single(args, 'bootstrap-server') ?? DEFAULT_BOOTSTRAP;
  try {
    parseHostPort(address);
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
  return address;
}

export function topicName(args: Args, command: string): string {
  if (args.positionals.length !== 1) throw new CliUsageError(`${command} takes one topic name`);
  return args.positionals[0]!;
}

/** `--config key=value` pairs, in order. */
export function configPairs(args: Args): Array<[string, string]> {
  return (args.values.get('config') ?? []).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliUsageError(`--config expects key=value, got ${pair}`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}
