/**
 * Commands a package adds to the `sluice` command line. The kernel finds them at runtime
 * (it imports no plugin), so the shape lives here, where both sides can see it; the
 * kernel's own commands use the same argument parser and usage error.
 */

const USAGE_ERROR_BRAND = Symbol.for('sluice.CliUsageError');

/** Bad command-line usage: the command's usage is printed and the exit code is 2. @evolving */
export class CliUsageError extends Error {
  /** Brand checked by `is`, so that a plugin built against another copy of the SDK is recognised. */
  readonly [USAGE_ERROR_BRAND] = true;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
  static is(value: unknown): value is CliUsageError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[USAGE_ERROR_BRAND] === true;
  }
}

/** @evolving */
export interface ArgSpec {
  /** Options that take a value (`--name value` or `--name=value`); each may repeat. */
  readonly values?: readonly string[];
  /** Options without a value. `help` (`--help`, `-h`) is always accepted. */
  readonly flags?: readonly string[];
}

/** @evolving */
export interface Args {
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly flags: ReadonlySet<string>;
}

/** Throws CliUsageError for an unknown option or a missing value. @evolving */
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
      if (arg.startsWith('-')) throw new CliUsageError(`unknown option ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flagNames.has(name)) {
      if (eq >= 0) throw new CliUsageError(`option --${name} takes no value`);
      flags.add(name);
    } else if (valueNames.has(name)) {
      let value: string | undefined;
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        i++;
      }
      if (value === undefined) throw new CliUsageError(`option --${name} needs a value`);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else {
      throw new CliUsageError(`unknown option --${name}`);
    }
  }
  return { positionals, values, flags };
}

/** The process as a command sees it, so that tests can drive commands without one. @evolving */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: AsyncIterable<Uint8Array>;
  /** Whether stderr is a terminal: progress lines go there only then, unless asked for. */
  readonly stderrIsTTY: boolean;
}

/**
 * One `sluice <name>` command. A package contributes commands by exporting
 * `commands: CliCommand[]` from its `./cli` subpath export. `run` returns the exit code
 * (0 done, 1 failed); it throws CliUsageError for bad usage (exit code 2) and any other
 * error for a failure, which is printed as one line without a stack.
 * @evolving
 */
export interface CliCommand {
  readonly name: string;
  /** One line, for `sluice --help`. */
  readonly summary: string;
  /** The text `sluice <name> --help` prints. */
  readonly usage: string;
  run(argv: readonly string[], io: CliIo): Promise<number>;
}
