/**
 * Typed configuration definitions, shared by broker properties and topic configs.
 * Names, types and defaults follow Kafka's, so operators' files and tools carry over.
 */

export type ConfigType = 'boolean' | 'int' | 'long' | 'double' | 'string' | 'list' | 'password';

export type ConfigValue = boolean | number | string | readonly string[];

export interface ConfigDef<T extends ConfigValue = ConfigValue> {
  readonly name: string;
  readonly type: ConfigType;
  /** Kafka's default, as Kafka writes it (`9223372036854775807` for Long.MAX_VALUE). `null`: no default. */
  readonly default: string | null;
  readonly doc: string;
  /** Accepted values for enumerated strings and list items (compared case-sensitively). */
  readonly oneOf?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** Extra rule; returns a message when the value is wrong. */
  readonly check?: (value: T) => string | undefined;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses one value for `def`. Longs beyond JavaScript's safe integers (Kafka's
 * Long.MAX_VALUE defaults mean "never") become ±Infinity, which compares as intended.
 */
export function parseConfigValue(def: ConfigDef, raw: string): ConfigValue {
  const text = raw.trim();
  let value: ConfigValue;
  switch (def.type) {
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw new ConfigError(def.name, `expected true or false, got "${raw}"`);
      value = lower === 'true';
      break;
    }
    case 'int':
    case 'long': {
      if (!/^[+-]?\d+$/.test(text)) throw new ConfigError(def.name, `expected an integer, got "${raw}"`);
      const big = BigInt(text);
      const [lo, hi] = def.type === 'int' ? [BigInt(INT32_MIN), BigInt(INT32_MAX)] : [INT64_MIN, INT64_MAX];
      if (big < lo || big > hi) throw new ConfigError(def.name, `${text} is outside the ${def.type} range`);
      const n = Number(big);
      value = Number.isSafeInteger(n) ? n : big > 0n ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
      break;
    }
    case 'double': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) throw new ConfigError(def.name, `expected a number, got "${raw}"`);
      value = n;
      break;
    }
    case 'list':
      value = text === '' ? [] : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
      break;
    default:
      value = text;
  }
  checkConfigValue(def, value);
  return value;
}

function checkConfigValue(def: ConfigDef, value: ConfigValue): void {
  if (typeof value === 'number') {
    if (def.min !== undefined && value < def.min) throw new ConfigError(def.name, `${value} is below the minimum ${def.min}`);
    if (def.max !== undefined && value > def.max) throw new ConfigError(def.name, `${value} is above the maximum ${def.max}`);
  }
  if (def.oneOf !== undefined) {
    const items = Array.isArray(value) ? value : [String(value)];
    for (const item of items) {
      if (!def.oneOf.includes(item)) {
        throw new ConfigError(def.name, `"${item}" is not one of ${def.oneOf.join(', ')}`);
      }
    }
  }
  const message = def.check?.(value as never);
  if (message !== undefined) throw new ConfigError(def.name, message);
}
