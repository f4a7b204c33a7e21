import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(level?: string): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const log = createLogger({ level, write: (l) => lines.push(l), now: () => new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) });
  return { lines, log };
}

describe('createLogger', () => {
  it('writes one line per event with time, level, message and fields', () => {
    const { lines, log } = capture('info');
    log.info('Sluice started', { node: 1, dirs: ['/a', '/b'], note: 'two words', err: new Error('boom'), empty: '' });
    expect(lines).toEqual([
      '[2024-01-02T03:04:05.006Z] INFO Sluice started node=1 dirs=["/a","/b"] note="two words" err=boom empty=""\n',
    ]);
  });

  it('logs values JSON cannot hold', () => {
    const { lines, log } = capture('info');
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    log.info('x', { loop, n: 10n });
    expect(lines[0]).toContain('loop=[object Object] n=10');
  });

  it('drops events below the threshold', () => {
    const { lines, log } = capture('warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['WARN', 'ERROR']);
  });

  it('falls back to info on an unknown level, and says so', () => {
    const { lines, log } = capture('verbose');
    log.debug('d');
    log.info('i');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('WARN unknown log level verbose, using info');
  });
});
