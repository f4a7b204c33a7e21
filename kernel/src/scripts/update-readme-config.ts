/** `npm run docs:config`: rewrites README.md's configuration section from the definitions. */
import { readFileSync, writeFileSync } from 'node:fs';
import { updateReadme } from '../config/config-table.js';

const path = process.argv[2] ?? 'README.md';
writeFileSync(path, updateReadme(readFileSync(path, 'utf8')));
