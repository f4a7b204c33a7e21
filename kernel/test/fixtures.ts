/** Helpers shared by kernel tests: temp dirs, a quiet logger, default log configs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@sluice/sdk';
import { toLogConfig, type LogConfig } from '../src/config/topic-config.js';

export function tempDir(prefix = 'sluice-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface CapturedLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

export function captureLogger(): Logger & { lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>): void => {
    lines.push({ level, msg, ...(fields === undefined ? {} : { fields }) });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function logConfig(overrides: Record<string, string> = {}): LogConfig {
  return toLogConfig({}, overrides);
}
