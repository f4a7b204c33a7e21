import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureFormatted,
  formatLogDir,
  FormatError,
  generateClusterId,
  META_PROPERTIES,
  readMetaProperties,
} from './meta-properties.js';
import { parseProperties } from '@sluice/sdk';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-meta-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('generateClusterId', () => {
  it('makes 22-character base64url ids of 16 bytes, never starting with -', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = generateClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
      ids.add(id);
    }
    expect(ids.size).toBe(2000);
  });
});

describe('formatLogDir', () => {
  it('creates the dir and a Kafka-style meta.properties', () => {
    const dir = path.join(root, 'a', 'b');
    const clusterId = generateClusterId();
    const meta = formatLogDir(dir, { clusterId, nodeId: 3 });
    const props = parseProperties(fs.readFileSync(path.join(dir, META_PROPERTIES), 'latin1'));
    expect(Object.fromEntries(props)).toEqual({
      'version': '1',
      'cluster.id': clusterId,
      'node.id': '3',
      'directory.id': meta.directoryId,
    });
    expect(meta.directoryId).not.toBe(clusterId);
    expect(readMetaProperties(dir)).toEqual(meta);
    expect(fs.readdirSync(dir)).toEqual([META_PROPERTIES]);
  });

  it('leaves a dir formatted with the same ids as it is', () => {
    const clusterId = generateClusterId();
    const meta = formatLogDir(root, { clusterId, nodeId: 1 });
    expect(formatLogDir(root, { clusterId, nodeId: 1 })).toEqual(meta);
  });

  it('refuses a dir formatted for another cluster or node, naming both ids and the path', () => {
    const a = generateClusterId();
    const b = generateClusterId();
    formatLogDir(root, { clusterId: a, nodeId: 1 });
    expect(() => formatLogDir(root, { clusterId: b, nodeId: 1 })).toThrow(FormatError);
    expect(() => formatLogDir(root, { clusterId: b, nodeId: 1 })).toThrow(
      `log dir ${root} belongs to cluster ${a} node 1, but this broker is cluster ${b} node 1`,
    );
    expect(() => formatLogDir(root, { clusterId: a, nodeId: 2 })).toThrow(/node 1, but this broker is cluster .* node 2/);
  });

  it('refuses a cluster id that is not a Kafka uuid', () => {
    expect(() => formatLogDir(root, { clusterId: 'my-cluster', nodeId: 1 })).toThrow(/my-cluster/);
    expect(readMetaProperties(root)).toBeUndefined();
  });
});

describe('readMetaProperties', () => {
  it('returns undefined for a dir that is missing or unformatted', () => {
    expect(readMetaProperties(path.join(root, 'nope'))).toBeUndefined();
    expect(readMetaProperties(root)).toBeUndefined();
  });

  it('reads a file Kafka wrote', () => {
    fs.writeFileSync(
      path.join(root, META_PROPERTIES),
      '#\n#Tue Mar 05 10:00:00 UTC 2024\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\nnode.id=1\nversion=1\n',
    );
    expect(readMetaProperties(root)).toEqual({
      version: 1, clusterId: 'MkU3OEVBNTcwNTJENDM2Qg', nodeId: 1, directoryId: 'J8aAPcfLQt2bqs1JT_rMgQ',
    });
  });

  it('rejects a ZooKeeper-era or damaged file with its path', () => {
    const file = path.join(root, META_PROPERTIES);
    fs.writeFileSync(file, 'version=0\nbroker.id=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\n');
    expect(() => readMetaProperties(root)).toThrow(`${file}: unsupported version 0`);
    fs.writeFileSync(file, 'version=1\nnode.id=1\n');
    expect(() => readMetaProperties(root)).toThrow(/cluster\.id \(missing\)/);
  });
});

describe('ensureFormatted', () => {
  const dirs = (...names: string[]): string[] => names.map((n) => path.join(root, n));

  it('formats every dir with a new cluster id on first start', () => {
    const logDirs = dirs('a', 'b');
    const clusterId = ensureFormatted(logDirs, 1, { allowFormat: true });
    for (const dir of logDirs) expect(readMetaProperties(dir)).toMatchObject({ clusterId, nodeId: 1 });
    expect(readMetaProperties(logDirs[0]!)!.directoryId).not.toBe(readMetaProperties(logDirs[1]!)!.directoryId);
    expect(ensureFormatted(logDirs, 1, { allowFormat: false })).toBe(clusterId);
  });

  it('uses the cluster id it is given', () => {
    const clusterId = generateClusterId();
    expect(ensureFormatted(dirs('a'), 1, { clusterId, allowFormat: true })).toBe(clusterId);
  });

  it('refuses to start on unformatted dirs when formatting is not allowed', () => {
    expect(() => ensureFormatted(dirs('a'), 1, { allowFormat: false })).toThrow(/sluice format/);
  });

  it('formats a dir added to a formatted node with the node\'s cluster id', () => {
    const [a, b] = dirs('a', 'b') as [string, string];
    const clusterId = ensureFormatted([a], 4, { allowFormat: true });
    expect(ensureFormatted([a, b], 4, { allowFormat: false })).toBe(clusterId);
    expect(readMetaProperties(b)).toMatchObject({ clusterId, nodeId: 4 });
  });

  it('refuses a dir of another node', () => {
    const [a] = dirs('a') as [string];
    const clusterId = ensureFormatted([a], 1, { allowFormat: true });
    expect(() => ensureFormatted([a], 2, { allowFormat: true })).toThrow(
      `log dir ${a} belongs to cluster ${clusterId} node 1, but this broker is node 2`,
    );
  });

  it('refuses dirs of two clusters, and a cluster id other than the dirs\'', () => {
    const [a, b] = dirs('a', 'b') as [string, string];
    const ca = ensureFormatted([a], 1, { allowFormat: true });
    const cb = ensureFormatted([b], 1, { allowFormat: true });
    expect(() => ensureFormatted([a, b], 1, { allowFormat: true })).toThrow(
      `log dir ${b} belongs to cluster ${cb}, but log dir ${a} belongs to cluster ${ca}`,
    );
    expect(() => ensureFormatted([a], 1, { clusterId: cb, allowFormat: true })).toThrow(
      `log dir ${a} belongs to cluster ${ca}, but the cluster id given is ${cb}`,
    );
  });

  it('refuses a copied log dir', () => {
    const [a, b] = dirs('a', 'b') as [string, string];
    ensureFormatted([a], 1, { allowFormat: true });
    fs.cpSync(a, b, { recursive: true });
    expect(() => ensureFormatted([a, b], 1, { allowFormat: true })).toThrow(/same directory\.id/);
  });
});
