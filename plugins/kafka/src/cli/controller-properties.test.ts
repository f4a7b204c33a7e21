import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { uuidToString } from '../protocol/index.js';
import { ControllerConfigError, newControllerOf } from './controller-properties.js';

const DIRECTORY_ID = 'Qmx1ZVNreUF0TmlnaHQhIQ';
const meta = (nodeId: number, directoryId = DIRECTORY_ID) =>
  `#Written by sluice format\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\nnode.id=${nodeId}\ndirectory.id=${directoryId}\n`;

/** A file system holding `files` only. */
const files = (entries: Record<string, string>) => (file: string): string | undefined => entries[file];

describe('newControllerOf', () => {
  const base = [
    'node.id=4', 'process.roles=broker,controller', 'listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093',
    'controller.listener.names=CONTROLLER', 'log.dirs=/srv/node4/a,/srv/node4/b',
  ];

  it('takes the node id, the controller listener and the directory id of the first log dir', () => {
    const node = newControllerOf(base.join('\n'), files({ '/srv/node4/a/meta.properties': meta(4) }), '/');
    expect(node.nodeId).toBe(4);
    expect(uuidToString(node.directoryId)).toBe(DIRECTORY_ID);
    expect(node.listeners).toEqual([{ name: 'CONTROLLER', host: '127.0.0.1', port: 9093 }]);
  });

  it('prefers the advertised controller listeners and reads metadata.log.dir, relative to the working directory', () => {
    const text = [...base, 'advertised.listeners=PLAINTEXT://node4.example:9092,CONTROLLER://node4.example:19093', 'metadata.log.dir=meta'].join('\n');
    const node = newControllerOf(text, files({ [path.join('/run/here', 'meta', 'meta.properties')]: meta(4) }), '/run/here');
    expect(node.listeners).toEqual([{ name: 'CONTROLLER', host: 'node4.example', port: 19093 }]);
  });

  it('falls back to log.dir and its default ./data', () => {
    const text = base.filter((l) => !l.startsWith('log.dirs')).join('\n');
    expect(newControllerOf(text, files({ '/w/data/meta.properties': meta(4) }), '/w').nodeId).toBe(4);
    expect(newControllerOf(`${text}\nlog.dir=/d`, files({ '/d/meta.properties': meta(4) }), '/w').nodeId).toBe(4);
  });

  it('refuses what cannot become a voter, naming the reason', () => {
    const fs = files({ '/srv/node4/a/meta.properties': meta(4) });
    const refused = (lines: string[], read = fs): string => {
      try {
        newControllerOf(lines.join('\n'), read, '/');
      } catch (e) {
        expect(e).toBeInstanceOf(ControllerConfigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused(base.filter((l) => !l.startsWith('node.id')))).toMatch(/node\.id/);
    expect(refused(base.map((l) => (l.startsWith('process.roles') ? 'process.roles=broker' : l)))).toMatch(/controller role/);
    expect(refused([...base, 'controller.listener.names=CTRL'])).toMatch(/no listener named .*CTRL/);
    expect(refused(base.map((l) => (l.startsWith('listeners') ? 'listeners=CONTROLLER://:9093' : l)))).toMatch(/cannot connect to/);
    expect(refused(base, files({}))).toMatch(/meta\.properties does not exist/);
    expect(refused(base, files({ '/srv/node4/a/meta.properties': meta(5) }))).toMatch(/belongs to node 5/);
    expect(refused(base, files({ '/srv/node4/a/meta.properties': meta(4, 'short') }))).toMatch(/directory\.id short/);
  });
});
