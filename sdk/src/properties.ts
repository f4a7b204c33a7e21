/**
 * Java's .properties format, as `java.util.Properties.load` reads it, so that an
 * operator's Kafka server.properties works unchanged. In the SDK because the kernel reads
 * server.properties with it and a plugin's command-line tool may read one too (the Kafka
 * plugin's `sluice metadata quorum add-controller` reads the new node's).
 */

const WHITESPACE = new Set([' ', '\t', '\f']);

/** Thrown for text `Properties.load` would also reject (a malformed `\uXXXX`). @stable */
export class PropertiesSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'PropertiesSyntaxError';
  }
}

interface LogicalLine {
  readonly text: string;
  readonly line: number;
}

/**
 * Joins continued lines. A line continues when it ends in an odd number of backslashes
 * (an even number is escaped backslashes); the next line's leading whitespace is dropped.
 * Comment lines never continue, as in Java.
 */
function logicalLines(text: string): LogicalLine[] {
  const natural = text.split(/\r\n|\r|\n/);
  const out: LogicalLine[] = [];
  let i = 0;
  while (i < natural.length) {
    const startLine = i + 1;
    let line = stripLeading(natural[i]!);
    i++;
    if (line === '' || line[0] === '#' || line[0] === '!') continue;
    while (endsInOddBackslashes(line)) {
      line = line.slice(0, -1);
      if (i >= natural.length) break;
      line += stripLeading(natural[i]!);
      i++;
    }
    out.push({ text: line, line: startLine });
  }
  return out;
}

function stripLeading(s: string): string {
  let i = 0;
  while (i < s.length && WHITESPACE.has(s[i]!)) i++;
  return s.slice(i);
}

function endsInOddBackslashes(s: string): boolean {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

function unescape(s: string, line: number): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    const e = s[i];
    if (e === undefined) break;
    switch (e) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        const hex = s.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PropertiesSyntaxError(line, `malformed \\uXXXX escape "\\u${hex}"`);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        out += e;
    }
  }
  return out;
}

/** Key/value pairs of .properties text; later keys override earlier ones, as in Java. @stable */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const { text: line, line: lineNo } of logicalLines(text)) {
    let keyEnd = 0;
    while (keyEnd < line.length) {
      const c = line[keyEnd]!;
      if (c === '\\') {
        keyEnd += 2;
        continue;
      }
      if (c === '=' || c === ':' || WHITESPACE.has(c)) break;
      keyEnd++;
    }
    keyEnd = Math.min(keyEnd, line.length);
    let valueStart = keyEnd;
    while (valueStart < line.length && WHITESPACE.has(line[valueStart]!)) valueStart++;
    if (line[valueStart] === '=' || line[valueStart] === ':') {
      valueStart++;
      while (valueStart < line.length && WHITESPACE.has(line[valueStart]!)) valueStart++;
    }
    props.set(unescape(line.slice(0, keyEnd), lineNo), unescape(line.slice(valueStart), lineNo));
  }
  return props;
}

function escape(s: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    switch (c) {
      case '\t': out += '\\t'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\f': out += '\\f'; break;
      case '\\': case '=': case ':': case '#': case '!':
        out += `\\${c}`;
        break;
      case ' ':
        // A value's inner spaces survive parsing; only a leading one would be stripped.
        out += isKey || i === 0 ? '\\ ' : ' ';
        break;
      default: {
        const code = c.charCodeAt(0);
        out += code < 0x20 || code > 0x7e ? `\\u${code.toString(16).padStart(4, '0')}` : c;
      }
    }
  }
  return out;
}

/** One `key=value` line per entry, in order, escaped so that `parseProperties` reads them back. @stable */
export function formatProperties(entries: Iterable<readonly [string, string]>): string {
  let out = '';
  for (const [key, value] of entries) out += `${escape(key, true)}=${escape(value, false)}\n`;
  return out;
}
