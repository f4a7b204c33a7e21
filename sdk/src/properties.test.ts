import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatProperties, parseProperties, PropertiesSyntaxError } from './properties.js';

const parse = (text: string): Record<string, string> => Object.fromEntries(parseProperties(text));

describe('parseProperties', () => {
  it('reads the three separators and skips comments and blank lines', () => {
    expect(parse('# comment\n! also a comment\n\na=1\nb: 2\nc 3\n  d = 4\n')).toEqual({ a: '1', b: '2', c: '3', d: '4' });
  });

  it('keeps trailing whitespace and everything after the first separator', () => {
    expect(parse('url = http://h:1/x=y  \n')).toEqual({ url: 'http://h:1/x=y  ' });
  });

  it('takes only one separator; a second one belongs to the value', () => {
    expect(parse('a = = b\nc:=d\n')).toEqual({ a: '= b', c: '=d' });
  });

  it('reads a key without a value as empty', () => {
    expect(parse('alone\nempty=\n')).toEqual({ alone: '', empty: '' });
  });

  it('lets later keys override earlier ones', () => {
    expect(parse('a=1\na=2\n')).toEqual({ a: '2' });
  });

  it('joins continued lines, dropping the next line\'s leading whitespace', () => {
    expect(parse('list=a,\\\n    b,\\\n\tc\nnext=1')).toEqual({ list: 'a,b,c', next: '1' });
  });

  it('does not continue on an escaped backslash', () => {
    expect(parse('path=C:\\\\\nnext=1\n')).toEqual({ path: 'C:\\', next: '1' });
  });

  it('does not continue a comment line', () => {
    expect(parse('# ends in backslash \\\na=1\n')).toEqual({ a: '1' });
  });

  it('treats a continuation line that starts with # as value text', () => {
    expect(parse('a=x\\\n#y\n')).toEqual({ a: 'x#y' });
  });

  it('accepts a continuation on the last line', () => {
    expect(parse('a=x\\')).toEqual({ a: 'x' });
  });

  it('handles CRLF and CR line ends', () => {
    expect(parse('a=1\r\nb=2\rc=3')).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('reads escapes in keys and values', () => {
    expect(parse('k\\=1\\:2\\ x = t\\tn\\nr\\rf\\f\\\\ \\u00e9\\u20AC \\q\n')).toEqual({
      'k=1:2 x': 't\tn\nr\rf\f\\ é€ q',
    });
  });

  it('rejects a malformed \\u escape with its line number', () => {
    expect(() => parseProperties('a=1\nb=\\u12g4\n')).toThrow(PropertiesSyntaxError);
    expect(() => parseProperties('a=1\nb=\\u12g4\n')).toThrow(/line 2/);
  });

  it('reads a Kafka server.properties excerpt', () => {
    const text = [
      '############################# Server Basics #############################',
      'process.roles=broker,controller',
      'node.id=1',
      'controller.quorum.voters=1@localhost:9093',
      'listeners=PLAINTEXT://:9092,CONTROLLER://:9093',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL',
      'log.dirs=/tmp/kraft-combined-logs',
      'log.retention.hours=168',
    ].join('\n');
    expect(parse(text)).toMatchObject({
      'process.roles': 'broker,controller',
      'controller.quorum.voters': '1@localhost:9093',
      'listeners': 'PLAINTEXT://:9092,CONTROLLER://:9093',
      'log.retention.hours': '168',
    });
  });
});

describe('formatProperties', () => {
  it('writes one key=value line per entry, in order', () => {
    expect(formatProperties([['version', '1'], ['cluster.id', 'abc-_DEF']])).toBe('version=1\ncluster.id=abc-_DEF\n');
  });

  it('escapes what the parser would otherwise misread', () => {
    expect(formatProperties([[' a b', ' x=y:#!\\\n']])).toBe('\\ a\\ b=\\ x\\=y\\:\\#\\!\\\\\\n\n');
  });

  it('round-trips any keys and values through parseProperties', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string({ unit: 'binary' })), (record) => {
        const entries = Object.entries(record);
        expect(Object.fromEntries(parseProperties(formatProperties(entries)))).toEqual(record);
      }),
    );
  });
});
