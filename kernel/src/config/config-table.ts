/**
 * The configuration reference in README.md, rendered from the definitions so that the
 * documentation cannot drift from what `sluice start` accepts (a test compares them).
 */
import { brokerConfigTable } from './broker-config.js';
import { TOPIC_CONFIG_DEFS } from './topic-config.js';

export const CONFIG_TABLE_START = '<!-- config-table:start -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

const cell = (text: string): string => text.replace(/\|/g, '\\|');
const shown = (value: string | null): string => (value === null ? '' : value === '9223372036854775807' ? 'Long.MAX (never)' : `\`${value}\``);

export function renderConfigTables(): string {
  const lines: string[] = [CONFIG_TABLE_START, '', '### Broker properties (server.properties)', ''];
  lines.push('| key | type | default | meaning |', '| --- | --- | --- | --- |');
  for (const row of brokerConfigTable()) {
    lines.push(`| \`${row.name}\` | ${row.type} | ${shown(row.default)} | ${cell(row.doc)} |`);
  }
  lines.push('', '### Topic configs (CreateTopics / AlterConfigs; defaults from the broker key beside them)', '');
  lines.push('| key | type | default | broker key | meaning |', '| --- | --- | --- | --- | --- |');
  for (const def of TOPIC_CONFIG_DEFS) {
    const brokerKeys = def.synonyms.map(([k]) => `\`${k}\``).join(', ');
    lines.push(`| \`${def.name}\` | ${def.type} | ${shown(def.default)} | ${brokerKeys} | ${cell(def.doc)} |`);
  }
  lines.push('', CONFIG_TABLE_END);
  return lines.join('\n');
}

/** Replaces the marked section of a README with freshly rendered tables. */
export function updateReadme(readme: string): string {
  const start = readme.indexOf(CONFIG_TABLE_START);
  const end = readme.indexOf(CONFIG_TABLE_END);
  if (start < 0 || end < start) throw new Error('README has no config-table markers');
  return readme.slice(0, start) + renderConfigTables() + readme.slice(end + CONFIG_TABLE_END.length);
}
