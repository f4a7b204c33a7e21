/**
 * A produce interceptor that masks JSON fields before records are stored:
 * `pii-redactor.fields=email,ssn` replaces the values of those keys, at any depth of a
 * JSON object value, with `pii-redactor.mask` (default `***`). Values that are not JSON
 * objects are stored as produced. Load it with
 * `plugins=kafka,./examples/pii-redactor/dist/index.js`.
 */
// Types only: the plugin imports nothing from the SDK at run time, so a packed tarball
// installs next to a broker without @sluice/sdk being installable there.
import type { LogRecord, RecordBatches, SluicePlugin } from '@sluice/sdk';

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Masks `fields` in place; true when something was masked. */
function maskFields(node: unknown, fields: ReadonlySet<string>, mask: string): boolean {
  if (typeof node !== 'object' || node === null) return false;
  let masked = false;
  const obj = node as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (fields.has(key)) {
      obj[key] = mask;
      masked = true;
    } else if (maskFields(obj[key], fields, mask)) {
      masked = true;
    }
  }
  return masked;
}

/** The redacted value, or null when the record is to be stored as produced. */
export function redactValue(value: Uint8Array, fields: ReadonlySet<string>, mask: string): Uint8Array | null {
  // A cheap check first: most non-JSON payloads never reach the parser.
  if (value.length === 0 || value[0] !== 0x7b /* { */) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value));
  } catch {
    return null;
  }
  return maskFields(parsed, fields, mask) ? encoder.encode(JSON.stringify(parsed)) : null;
}

export function redactBatch(batch: RecordBatches, fields: ReadonlySet<string>, mask: string): RecordBatches {
  let changed = false;
  const records = batch.records().map((record): LogRecord => {
    const value = record.value === null ? null : redactValue(record.value, fields, mask);
    if (value === null) return record;
    changed = true;
    return { ...record, value };
  });
  // Re-encoding costs a copy and a CRC: only a batch that held PII pays for it.
  return changed ? batch.withRecords(records) : batch;
}

const plugin: SluicePlugin = {
  manifest: {
    id: 'pii-redactor',
    version: '0.1.0',
    sdk: '^0.1.0',
    description: 'Masks configured JSON fields in produced record values',
    configSchema: {
      type: 'object',
      properties: {
        fields: { type: 'string', minLength: 1, description: 'comma-separated JSON keys to mask' },
        mask: { type: 'string', description: 'what a masked value becomes (default ***)' },
        topics: { type: 'string', description: 'comma-separated topics to redact (default: all)' },
      },
      required: ['fields'],
    },
  },
  start(ctx) {
    const list = (s: string | undefined): string[] => (s ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '');
    const fields = new Set(list(ctx.config['fields']));
    if (fields.size === 0) throw new Error('pii-redactor.fields lists no field');
    const mask = ctx.config['mask'] ?? '***';
    const topics = list(ctx.config['topics']);
    ctx.on('produce.intercept', (batch) => redactBatch(batch, fields, mask),
      topics.length === 0 ? {} : { filter: { topics } });
  },
};

export default plugin;
