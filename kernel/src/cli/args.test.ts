import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from './args.js';
import { parseOverride } from './load-config.js';

const spec = { values: ['override', 'cluster-id'], flags: ['ignore-formatted'] };

describe('parseArgs', () => {
  it('separates positionals, repeated values and flags', () => {
    const args = parseArgs(
      ['server.properties', '--override', 'a=1', '--override=b=2=3', '--ignore-formatted', '--cluster-id', 'X'],
      spec,
    );
    expect(args.positionals).toEqual(['server.properties']);
    expect(args.values.get('override')).toEqual(['a=1', 'b=2=3']);
    expect(args.values.get('cluster-id')).toEqual(['X']);
    expect([...args.flags]).toEqual(['ignore-formatted']);
  });

  it('always accepts --help and -h', () => {
    expect(parseArgs(['-h'], {}).flags.has('help')).toBe(true);
    expect(parseArgs(['x', '--help'], {}).flags.has('help')).toBe(true);
  });

  it('takes everything after -- as positionals', () => {
    expect(parseArgs(['--', '--override', '-h'], spec).positionals).toEqual(['--override', '-h']);
  });

  it('takes the next argument as a value even if it looks like an option', () => {
    expect(parseArgs(['--cluster-id', '--x'], spec).values.get('cluster-id')).toEqual(['--x']);
  });

  it('rejects unknown options, missing values and values on flags', () => {
    expect(() => parseArgs(['--nope'], spec)).toThrow(new UsageError('unknown option --nope'));
    expect(() => parseArgs(['-x'], spec)).toThrow(new UsageError('unknown option -x'));
    expect(() => parseArgs(['--override'], spec)).toThrow(new UsageError('option --override needs a value'));
    expect(() => parseArgs(['--ignore-formatted=yes'], spec)).toThrow(UsageError);
  });
});

describe('parseOverride', () => {
  it('splits at the first =', () => {
    expect(parseOverride('listeners=PLAINTEXT://:9092')).toEqual(['listeners', 'PLAINTEXT://:9092']);
    expect(parseOverride(' a =b=c')).toEqual(['a', 'b=c']);
    expect(parseOverride('a=')).toEqual(['a', '']);
  });

  it('rejects text without a key', () => {
    expect(() => parseOverride('novalue')).toThrow(UsageError);
    expect(() => parseOverride('=1')).toThrow(UsageError);
  });
});
