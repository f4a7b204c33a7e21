import fs from 'node:fs';
import { loadBrokerConfig, type BrokerConfig } from '../config/broker-config.js';
import { parseProperties, PropertiesSyntaxError } from '@sluice/sdk';
import { UsageError } from './args.js';

/** A properties file that cannot be read as one. */
export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

/** `key=value` from `--override`, split at the first `=` as Kafka's tools do. */
export function parseOverride(text: string): [string, string] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? '' : text.slice(0, eq).trim();
  if (key === '') throw new UsageError(`--override expects key=value, got "${text}"`);
  return [key, text.slice(eq + 1)];
}

/** The broker config from an optional properties file, then the overrides in order. */
export function loadConfig(file: string | undefined, overrides: readonly string[], warn: (msg: string) => void): BrokerConfig {
  // No prototype: a key such as __proto__ in the file is a key like any other.
  const props: Record<string, string> = Object.create(null) as Record<string, string>;
  if (file !== undefined) {
    let text: string;
    try {
      // Kafka reads server.properties as ISO-8859-1 (Properties.load(InputStream)); UTF-8
      // is what editors write today, and \uXXXX escapes read the same either way.
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    }
    try {
      for (const [key, value] of parseProperties(text)) props[key] = value;
    } catch (e) {
      if (e instanceof PropertiesSyntaxError) throw new ConfigFileError(`${file}: ${e.message}`);
      throw e;
    }
  }
  for (const text of overrides) {
    const [key, value] = parseOverride(text);
    props[key] = value;
  }
  return loadBrokerConfig(props, { warn });
}
