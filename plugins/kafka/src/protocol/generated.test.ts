import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_DIR, definitionDirs, generateAll } from '../codegen/generate.js';

describe('generated codecs', () => {
  it('match what the generator makes from the message definitions (run npm run generate:protocol)', () => {
    const expected = generateAll(definitionDirs());
    const committed = readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.ts')).sort();
    expect(committed).toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) {
      expect(readFileSync(join(GENERATED_DIR, name), 'utf8'), name).toBe(text);
    }
  });
});
