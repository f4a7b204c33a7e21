import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { updateReadme } from './config-table.js';

it('README.md documents exactly the configuration sluice accepts (run `npm run docs:config` after a change)', () => {
  const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
  expect(updateReadme(readme)).toBe(readme);
});
