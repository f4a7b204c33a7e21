import type { Logger } from '@sluice/sdk';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function isLogLevel(s: string): s is LogLevel {
  return Object.hasOwn(RANK, s);
}

/** Strings bare when unambiguous, else JSON-quoted; other values as compact JSON. Never throws: logging must not fail a caller. */
function formatValue(value: unknown): string {
  if (value instanceof Error) return formatValue(value.message);
  if (typeof value === 'string') return value === '' || /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'bigint') return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * One line per event on stderr: `[ISO-time] LEVEL msg key=value ...`. The threshold is
 * `SLUICE_LOG_LEVEL` (debug, info, warn, error), info by default.
 */
export function createLogger(
  opts: { level?: string; write?: (line: string) => void; now?: () => Date } = {},
): Logger {
  const requested = (opts.level ?? process.env['SLUICE_LOG_LEVEL'] ?? 'info').toLowerCase();
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const threshold = isLogLevel(requested) ? RANK[requested] : RANK.info;
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] < threshold) return;
    let line = `[${now().toISOString()}] ${level.toUpperCase()} ${msg}`;
    for (const [key, value] of Object.entries(fields ?? {})) line += ` ${key}=${formatValue(value)}`;
    write(`${line}\n`);
  };
  const log: Logger = {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
  if (!isLogLevel(requested)) log.warn(`unknown log level ${requested}, using info`);
  return log;
}
