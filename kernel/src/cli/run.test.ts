import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliCommand } from '@sluice/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../config/broker-config.js';
import { generateClusterId, readMetaProperties } from '../config/meta-properties.js';
import { UsageError, type CliContext, type RunningBroker } from './args.js';
import type { PluginCommands } from './plugin-commands.js';
import { runCli } from './run.js';
import { readVersion } from './version.js';

interface Harness {
  readonly ctx: CliContext;
  readonly out: string[];
  readonly err: string[];
  readonly logs: string[];
  readonly started: Array<{ config: BrokerConfig; clusterId: string }>;
  /** Delivers a signal to the current handler; false if none is listening. */
  signal(name: string): boolean;
}

function harness(opts: { start?: () => Promise<RunningBroker> } = {}): Harness {
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  const started: Array<{ config: BrokerConfig; clusterId: string }> = [];
  let handler: ((signal: string) => void) | undefined;
  const record = (level: string) => (msg: string) => logs.push(`${level} ${msg}`);
  const ctx: CliContext = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stdin: (async function* () {})(),
    stderrIsTTY: false,
    log: { debug: record('DEBUG'), info: record('INFO'), warn: record('WARN'), error: record('ERROR') },
    startBroker: async (config, clusterId) => {
      started.push({ config, clusterId });
      return opts.start !== undefined ? opts.start() : { stop: async () => {} };
    },
    onSignal: (h) => {
      handler = h;
      return () => {
        handler = undefined;
      };
    },
  };
  return {
    ctx, out, err, logs, started,
    signal: (name) => {
      if (handler === undefined) return false;
      handler(name);
      return true;
    },
  };
}

/** Resolves once `predicate` holds, checking after each turn of the event loop. */
async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !predicate(); i++) await new Promise((r) => setImmediate(r));
  expect(predicate()).toBe(true);
}

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cli-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('runCli', () => {
  it('prints usage for --help and -h, and for each command', async () => {
    for (const argv of [['--help'], ['-h'], ['start', '--help'], ['format', '-h'], ['version', '--help']]) {
      const h = harness();
      expect(await runCli(argv, h.ctx)).toBe(0);
      expect(h.out.join('')).toMatch(/^Usage: sluice/);
      expect(h.err).toEqual([]);
      expect(h.started).toEqual([]);
    }
  });

  it('rejects an unknown or missing command with usage on stderr', async () => {
    const h = harness();
    expect(await runCli(['serve'], h.ctx)).toBe(2);
    expect(h.err.join('')).toMatch(/^error: unknown command serve\n\nUsage: sluice <command>/);
    expect(await runCli([], h.ctx)).toBe(2);
    expect(h.out).toEqual([]);
  });

  it('rejects a bad option with the command\'s usage', async () => {
    const h = harness();
    expect(await runCli(['start', '--port', '1'], h.ctx)).toBe(2);
    expect(h.err.join('')).toMatch(/^error: unknown option --port\n\nUsage: sluice start/);
  });

  it('lists plugin commands in --help and runs them, with their usage on bad usage', async () => {
    const seen: string[][] = [];
    const topics: CliCommand = {
      name: 'topics', summary: 'Manage topics', usage: 'Usage: sluice topics\n',
      run: async (argv) => {
        seen.push([...argv]);
        if (argv[0] === '--bad') throw new UsageError('unknown option --bad');
        return 0;
      },
    };
    const plugins = async (): Promise<PluginCommands> => ({ commands: [topics], problems: ['plugin x is broken'] });
    const h = harness();
    expect(await runCli(['--help'], h.ctx, plugins)).toBe(0);
    expect(h.out.join('')).toMatch(/\n  version +Print the version\n  topics +Manage topics\n/);
    expect(await runCli(['topics', 'list'], h.ctx, plugins)).toBe(0);
    expect(await runCli(['topics', '--bad'], h.ctx, plugins)).toBe(2);
    expect(seen).toEqual([['list'], ['--bad']]);
    expect(h.err.join('')).toContain('error: unknown option --bad\n\nUsage: sluice topics\n');
    expect(h.err.join('')).toContain('warning: plugin x is broken\n');
  });

  it('does not load plugin commands for the kernel\'s own', async () => {
    const h = harness();
    expect(await runCli(['version'], h.ctx, () => Promise.reject(new Error('loaded')))).toBe(0);
  });

  it('prints the version from kernel/package.json', async () => {
    const h = harness();
    expect(await runCli(['version'], h.ctx)).toBe(0);
    expect(h.out).toEqual([`sluice ${readVersion()}\n`]);
    expect(readVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('sluice start', () => {
  it('loads the file and overrides, formats the dirs, starts, and stops on a signal', async () => {
    const file = path.join(root, 'server.properties');
    fs.writeFileSync(file, `node.id=5\nnum.partitions=3\nlog.dirs=${path.join(root, 'ignored')}\nmystery.key=1\n`);
    const dir = path.join(root, 'data');
    let stops = 0;
    const h = harness({ start: async () => ({ stop: async () => void stops++ }) });
    const exit = runCli(['start', file, '--override', `log.dirs=${dir}`, '--override=num.partitions=4'], h.ctx);
    await until(() => h.logs.some((l) => l.includes('started')));
    expect(h.started).toHaveLength(1);
    const { config, clusterId } = h.started[0]!;
    expect(config).toMatchObject({ nodeId: 5, numPartitions: 4, logDirs: [dir] });
    expect(readMetaProperties(dir)).toMatchObject({ clusterId, nodeId: 5 });
    expect(h.logs.filter((l) => l.startsWith('INFO') && l.includes('started'))).toEqual([
      `INFO Sluice started: node 5, cluster ${clusterId}, log dirs ${dir}, plugins kafka`,
    ]);
    expect(h.logs).toContain('WARN unknown config key mystery.key, ignored');

    expect(h.signal('SIGTERM')).toBe(true);
    expect(await exit).toBe(0);
    expect(stops).toBe(1);
    expect(h.logs.slice(-2)).toEqual(['INFO stopping', 'INFO stopped']);
    expect(h.signal('SIGTERM')).toBe(false);
  });

  it('starts again on the same dirs with the same cluster id', async () => {
    const dir = path.join(root, 'data');
    const first = harness();
    const run1 = runCli(['start', '--override', `log.dirs=${dir}`], first.ctx);
    await until(() => first.started.length === 1);
    first.signal('SIGINT');
    expect(await run1).toBe(0);
    const second = harness();
    const run2 = runCli(['start', '--override', `log.dirs=${dir}`], second.ctx);
    await until(() => second.started.length === 1);
    second.signal('SIGINT');
    expect(await run2).toBe(0);
    expect(second.started[0]!.clusterId).toBe(first.started[0]!.clusterId);
  });

  it('forces exit 1 on a second signal while stopping', async () => {
    const h = harness({ start: async () => ({ stop: () => new Promise<void>(() => {}) }) });
    const exit = runCli(['start', '--override', `log.dirs=${root}`], h.ctx);
    await until(() => h.started.length === 1);
    h.signal('SIGTERM');
    h.signal('SIGINT');
    expect(await exit).toBe(1);
    expect(h.logs.at(-1)).toMatch(/^ERROR SIGINT while stopping/);
  });

  it('stops once the broker is up when a signal comes during startup', async () => {
    let up!: () => void;
    let stopped = false;
    const h = harness({
      start: () => new Promise((resolve) => {
        up = () => resolve({ stop: async () => void (stopped = true) });
      }),
    });
    const exit = runCli(['start', '--override', `log.dirs=${root}`], h.ctx);
    await until(() => h.started.length === 1);
    h.signal('SIGTERM');
    up();
    expect(await exit).toBe(0);
    expect(stopped).toBe(true);
  });

  it('exits 1 when the broker fails to stop', async () => {
    const h = harness({ start: async () => ({ stop: async () => Promise.reject(new Error('disk gone')) }) });
    const exit = runCli(['start', '--override', `log.dirs=${root}`], h.ctx);
    await until(() => h.started.length === 1);
    h.signal('SIGTERM');
    expect(await exit).toBe(1);
    expect(h.logs.at(-1)).toBe('ERROR stop failed');
  });

  it('exits 2 with the key named on a bad value, starting nothing', async () => {
    const h = harness();
    expect(await runCli(['start', '--override', 'num.partitions=0', '--override', `log.dirs=${root}`], h.ctx)).toBe(2);
    expect(h.err).toEqual(['error: num.partitions: 0 is below the minimum 1\n']);
    expect(h.started).toEqual([]);
    expect(readMetaProperties(root)).toBeUndefined();
  });

  it('exits 2 on a malformed override', async () => {
    const h = harness();
    expect(await runCli(['start', '--override', 'num.partitions'], h.ctx)).toBe(2);
    expect(h.err.join('')).toMatch(/^error: --override expects key=value/);
  });

  it('exits 2 on a log dir of another node', async () => {
    const h = harness();
    expect(await runCli(['format', '--override', `log.dirs=${root}`], h.ctx)).toBe(0);
    expect(await runCli(['start', '--override', `log.dirs=${root}`, '--override', 'node.id=2'], h.ctx)).toBe(2);
    expect(h.err.at(-1)).toMatch(new RegExp(`^error: log dir ${root} belongs to cluster \\S+ node 1, but this broker is node 2\n$`));
    expect(h.started).toEqual([]);
  });

  it('exits 2 instead of formatting a node of a multi-node cluster with an id of its own', async () => {
    const h = harness();
    const voters = 'controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.1:19193,3@127.0.0.1:19293';
    expect(await runCli(['start', '--override', `log.dirs=${root}`, '--override', voters,
      '--override', 'listeners=PLAINTEXT://:0,CONTROLLER://127.0.0.1:19093'], h.ctx)).toBe(2);
    expect(h.err.at(-1)).toMatch(/no log dir is formatted .*run sluice format first/);
    expect(h.started).toEqual([]);
  });

  it('exits 1 on a missing properties file', async () => {
    const h = harness();
    const missing = path.join(root, 'nope.properties');
    expect(await runCli(['start', missing], h.ctx)).toBe(1);
    expect(h.err).toEqual([`error: cannot read ${missing}: no such file\n`]);
  });

  it('exits 2 on a malformed properties file, naming it', async () => {
    const file = path.join(root, 'bad.properties');
    fs.writeFileSync(file, 'a=\\u00zz\n');
    const h = harness();
    expect(await runCli(['start', file], h.ctx)).toBe(2);
    expect(h.err.join('')).toContain(`error: ${file}: line 1: malformed`);
  });

  it('exits 1 when the broker fails to start', async () => {
    const h = harness({ start: () => Promise.reject(new Error('port 9092 in use')) });
    expect(await runCli(['start', '--override', `log.dirs=${root}`], h.ctx)).toBe(1);
    expect(h.err).toEqual(['error: port 9092 in use\n']);
    expect(h.signal('SIGTERM')).toBe(false);
  });
});

describe('sluice format', () => {
  it('formats every log dir with the given cluster id', async () => {
    const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
    const clusterId = generateClusterId();
    const h = harness();
    expect(await runCli(['format', '--override', `log.dirs=${a},${b}`, '--override', 'node.id=3', '--cluster-id', clusterId], h.ctx)).toBe(0);
    for (const dir of [a, b]) expect(readMetaProperties(dir)).toMatchObject({ clusterId, nodeId: 3 });
    expect(h.out.join('')).toBe(`${a}: formatted\n${b}: formatted\ncluster.id=${clusterId} node.id=3\n`);
  });

  it('refuses formatted dirs unless told to skip them, and then only when the ids match', async () => {
    const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
    const h = harness();
    expect(await runCli(['format', '--override', `log.dirs=${a}`], h.ctx)).toBe(0);
    const clusterId = readMetaProperties(a)!.clusterId;

    expect(await runCli(['format', '--override', `log.dirs=${a},${b}`], h.ctx)).toBe(1);
    expect(h.err.at(-1)).toBe(`error: already formatted: ${a}; use --ignore-formatted to skip them\n`);
    expect(readMetaProperties(b)).toBeUndefined();

    h.out.length = 0;
    expect(await runCli(['format', '--override', `log.dirs=${a},${b}`, '--ignore-formatted'], h.ctx)).toBe(0);
    expect(h.out.join('')).toBe(`${a}: already formatted, skipped\n${b}: formatted\ncluster.id=${clusterId} node.id=1\n`);
    expect(readMetaProperties(b)?.clusterId).toBe(clusterId);

    const other = generateClusterId();
    expect(await runCli(['format', '--override', `log.dirs=${a}`, '--ignore-formatted', '--cluster-id', other], h.ctx)).toBe(1);
    expect(h.err.at(-1)).toContain(`belongs to cluster ${clusterId}, but the cluster id given is ${other}`);
  });

  it('refuses a cluster id that is not a Kafka uuid', async () => {
    const h = harness();
    expect(await runCli(['format', '--override', `log.dirs=${root}`, '--cluster-id', 'prod'], h.ctx)).toBe(1);
    expect(h.err.join('')).toMatch(/^error: cluster id prod is not/);
  });
});

describe('the sluice bin', () => {
  it('prints usage for --help', () => {
    const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    const result = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: sluice <command>/);
  });
});
