/** What the commands share: argument parsing, and the process as commands see it. */
import type { Logger } from '@sluice/sdk';
import type { BrokerConfig } from '../config/broker-config.js';

/** Bad command-line usage: the command's usage is printed and the exit code is 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ArgSpec {
  /** Options that take a value (`--name value` or `--name=value`); each may repeat. */
  readonly values?: readonly string[];
  /** Options without a value. `help` (`--help`, `-h`) is always accepted. */
  readonly flags?: readonly string[];
}

export interface Args {
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly flags: ReadonlySet<string>;
}

export function parseArgs(argv: readonly string[], spec: ArgSpec): Args {
  const valueNames = new Set(spec.values ?? []);
  const flagNames = new Set(['help', ...(spec.flags ?? [])]);
  const positionals: string[] = [];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      flags.add('help');
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flagNames.has(name)) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      flags.add(name);
    } else if (valueNames.has(name)) {
      let value: string | undefined;
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        i++;
      }
      if (value === undefined) throw new UsageError(`option --${name} needs a value`);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positionals, values, flags };
}

/** The running broker, as the `start` command drives it. */
export interface RunningBroker {
  stop(): Promise<void>;
}

/** The process as commands see it, so that tests can drive them without one. */
export interface CliContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly log: Logger;
  readonly startBroker: (config: BrokerConfig, clusterId: string, log: Logger) => Promise<RunningBroker>;
  /** Calls `handler` on SIGTERM and SIGINT until the returned function is called. */
  readonly onSignal: (handler: (signal: string) => void) => () => void;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[], ctx: CliContext): Promise<number>;
}
