/**
 * A network partition with real processes: three nodes, each in its own network namespace
 * (netns.ts), a topic with three replicas and min.insync.replicas=2, acks=all writes from
 * confluent_kafka. The partition leader is cut off from its two peers (the test process
 * still reaches both sides):
 * - a producer inside the leader's namespace, which can reach nothing but the old leader,
 *   gets no acknowledgement: the old leader cannot bring a second replica along;
 * - the two others elect a new leader and acknowledge writes;
 * once the partition heals, the old leader drops the writes only it had, rejoins the ISR
 * and, elected leader again, serves every acknowledged record exactly once and nothing else.
 *
 * Skipped where namespaces cannot be made (not root, no iproute2), with the reason printed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerConfigTable } from '../../../kernel/dist/config/broker-config.js';
import { KafkaClient } from '../src/cli/client.js';
import { REPO_ROOT } from './broker-process.js';
import { CLUSTER_TEST_DEFAULTS } from './cluster-process.js';
import { PYTHON, python, run } from './clients.js';
import { NetnsLab, netnsUnavailable } from './netns.js';
import { runSluice } from './sluice-cli.js';

const MAIN = join(REPO_ROOT, 'kernel/dist/cli/main.js');
const CONFLUENT_SCRIPT = join(REPO_ROOT, 'plugins/kafka/test/clients/confluent.py');
const NODES = 3;
const KAFKA_PORT = 9092;
const CONTROLLER_PORT = 9093;
const TOPIC = 'partitioned';
const FORMAT_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const WAIT_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 200;
const TEST_TIMEOUT_MS = 240_000;
/** How long the minority's producer keeps retrying a write before it reports the write failed. */
const MINORITY_MESSAGE_TIMEOUT_MS = 10_000;
/** The majority's producers retry across the election for this long. */
const MAJORITY_MESSAGE_TIMEOUT_MS = 60_000;
const OUTPUT_TAIL_CHARS = 8_000;
const OUTPUT_CHARS_MAX = 1024 * 1024;
/** What librdkafka reports when acks=all cannot be satisfied or the broker no longer leads: anything but an acknowledgement. */
const NOT_ACKNOWLEDGED = ['NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'NOT_LEADER_OR_FOLLOWER', 'NOT_LEADER_FOR_PARTITION',
  '_MSG_TIMED_OUT', 'REQUEST_TIMED_OUT', '_TIMED_OUT', '_TRANSPORT', 'LEADER_NOT_AVAILABLE', 'FENCED_LEADER_EPOCH'];


interface Report { error: number | null; error_name: string | null; partition: number; offset: number }
interface Ack { value: string; offset: number }

const unavailable = netnsUnavailable();
if (unavailable !== null) console.log(`cluster-netns: skipped: ${unavailable}`);

describe.skipIf(unavailable !== null)('network partition of a partition leader (namespaces)', () => {
  let lab: NetnsLab | undefined;
  let root: string | undefined;
  const nodes = new Map<number, { child: ChildProcess; output: () => string }>();

  const bootstrap = (ids: readonly number[]): string => ids.map((id) => `${lab!.address(id)}:${KAFKA_PORT}`).join(',');
  const all = Array.from({ length: NODES }, (_, i) => i + 1);

  function explain(e: unknown): Error {
    const tails = [...nodes].map(([id, n]) => `----- node ${id} -----\n${n.output().slice(-OUTPUT_TAIL_CHARS)}`).join('\n');
    return new Error(`${e instanceof Error ? e.message : String(e)}\n${tails}`);
  }

  beforeAll(async () => {
    lab = NetnsLab.create(NODES);
    root = mkdtempSync(join(tmpdir(), 'sluice-netns-'));
    const clusterId = randomBytes(16).toString('base64url');
    const known = new Set(brokerConfigTable().map((row) => row.name));
    const defaults = Object.fromEntries(Object.entries(CLUSTER_TEST_DEFAULTS).filter(([key]) => known.has(key)));
    const voters = all.map((id) => `${id}@${lab!.address(id)}:${CONTROLLER_PORT}`).join(',');
    const properties = (id: number): string[] => Object.entries({
      ...defaults,
      'node.id': String(id),
      'process.roles': 'broker,controller',
      listeners: `PLAINTEXT://${lab!.address(id)}:${KAFKA_PORT},CONTROLLER://${lab!.address(id)}:${CONTROLLER_PORT}`,
      'advertised.listeners': `PLAINTEXT://${lab!.address(id)}:${KAFKA_PORT}`,
      'controller.listener.names': 'CONTROLLER',
      'controller.quorum.voters': voters,
      'log.dirs': join(root!, `node${id}`),
    }).flatMap(([k, v]) => ['--override', `${k}=${v}`]);
    for (const id of all) mkdirSync(join(root, `node${id}`));
    await Promise.all(all.map((id) => format(clusterId, properties(id))));
    // Concurrently: a node of a multi-voter quorum may wait for its peers before it says it started.
    const started = await Promise.allSettled(all.map(async (id) => nodes.set(id, await startNode(lab!, id, properties(id)))));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw explain(failed.reason);
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([...nodes.values()].map(({ child }) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    })));
    lab?.destroy();
    if (root !== undefined && process.env['SLUICE_IT_KEEP_DATA'] !== '1') rmSync(root, { recursive: true, force: true });
  });

  /** Whether node `id`'s segment files of partition 0 contain `text`. */
  function logHolds(id: number, text: string): boolean {
    const dir = join(root!, `node${id}`, `${TOPIC}-0`);
    return readdirSync(dir).filter((f) => f.endsWith('.log')).some((f) => readFileSync(join(dir, f)).includes(text));
  }

  /** Partition 0 of the topic as node `askId` sees it. */
  async function partition0(askId: number): Promise<{ leader: number; replicas: number[]; isr: number[] }> {
    const client = new KafkaClient(bootstrap([askId]));
    try {
      const t = (await client.metadata([TOPIC])).topics[0]!;
      if (t.errorCode !== 0) throw new Error(`topic ${TOPIC}: error ${t.errorCode} from node ${askId}`);
      const p = t.partitions.find((q) => q.partitionIndex === 0)!;
      return { leader: p.leaderId, replicas: [...p.replicaNodes], isr: [...p.isrNodes].sort() };
    } finally {
      client.close();
    }
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = WAIT_TIMEOUT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined && value !== false) return value;
      } catch (e) {
        lastError = e;
      }
      if (Date.now() + POLL_INTERVAL_MS > deadline) {
        throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms${lastError === undefined ? '' : `; last error: ${String(lastError)}`}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  /** Produces `values` to partition 0 with acks=all and idempotence; every one must be acknowledged. */
  async function produceAll(ids: readonly number[], values: readonly string[]): Promise<Ack[]> {
    const out = await python<{ reports: Report[]; unflushed: number }>('confluent.py', 'produce', bootstrap(ids), {
      topic: TOPIC, messages: values.map((value) => ({ value, partition: 0 })), timeout_s: MAJORITY_MESSAGE_TIMEOUT_MS / 1000 + 10,
      config: { 'enable.idempotence': true, 'message.timeout.ms': MAJORITY_MESSAGE_TIMEOUT_MS },
    }, MAJORITY_MESSAGE_TIMEOUT_MS + 60_000);
    expect(out.unflushed).toBe(0);
    const failed = out.reports.filter((r) => r.error !== null).map((r) => r.error_name);
    expect(failed, `producing through nodes ${ids.join(',')}`).toEqual([]);
    return out.reports.map((r, i) => ({ value: values[i]!, offset: r.offset }));
  }

  /** Makes the preferred replica lead partition 0 and waits until every node says so. */
  async function electPreferred(): Promise<number> {
    const preferred = (await partition0(1)).replicas[0]!;
    const elect = await runSluice(bootstrap([1]), ['partitions', 'elect-leaders', '--election-type', 'preferred', '--topic', TOPIC, '--partition', '0']);
    expect(elect.code, elect.stderr).toBe(0);
    await waitFor(`node ${preferred} leading ${TOPIC}-0 on every node`, async () => {
      for (const id of all) if ((await partition0(id)).leader !== preferred) return false;
      return true;
    });
    return preferred;
  }

  it('the isolated leader acknowledges nothing, the majority goes on, and after healing every acknowledged write is there once', async () => {
    try {
      const create = await runSluice(bootstrap([1]), ['topics', 'create', TOPIC, '--partitions', '1', '--replication-factor', '3',
        '--config', 'min.insync.replicas=2']);
      expect(create.code, create.stderr).toBe(0);
      await waitFor(`${TOPIC}-0 in sync on 3 replicas`, async () => {
        const p = await partition0(1);
        return p.leader > 0 && p.isr.length === NODES;
      });
      // The leader to cut off is the preferred replica, so that after healing it can be made to lead again and show its log.
      const oldLeader = await electPreferred();
      const acks: Ack[] = await produceAll(all, Array.from({ length: 200 }, (_, i) => `before-${i}`));

      lab!.isolate(oldLeader);
      const majority = all.filter((id) => id !== oldLeader);
      // Pinned: inside the old leader's namespace nothing but the old leader can be reached.
      const minorityValues = Array.from({ length: 20 }, (_, i) => `minority-${i}`);
      const minorityRun = produceIn(lab!, oldLeader, bootstrap([oldLeader]), {
        topic: TOPIC, messages: minorityValues.map((value) => ({ value, partition: 0 })), timeout_s: MINORITY_MESSAGE_TIMEOUT_MS / 1000 + 20,
        config: { 'enable.idempotence': false, 'message.timeout.ms': MINORITY_MESSAGE_TIMEOUT_MS, retries: 2147483647, 'compression.type': 'none' },
      });
      // Awaited below; until then a failure of the run itself must not surface as an unhandled rejection.
      minorityRun.catch(() => undefined);

      const newLeader = await waitFor(`a new leader for ${TOPIC}-0 on the majority side`, async () => {
        const seen = await Promise.all(majority.map((id) => partition0(id)));
        const leaders = new Set(seen.map((p) => p.leader));
        const leader = seen[0]!.leader;
        return leaders.size === 1 && majority.includes(leader) && !seen.some((p) => p.isr.includes(oldLeader)) && leader;
      });
      acks.push(...await produceAll(majority, Array.from({ length: 200 }, (_, i) => `majority-${i}`)));

      const minority = await minorityRun;
      expect(minority.unflushed).toBe(0);
      expect(minority.reports).toHaveLength(minorityValues.length);
      for (const r of minority.reports) {
        expect(r.error, `a write to the isolated old leader ${oldLeader} was acknowledged at offset ${r.offset}`).not.toBeNull();
        expect(NOT_ACKNOWLEDGED).toContain(r.error_name);
      }

      // The old leader took the writes into its own log (uncompressed, so the values are there as bytes): a tail no one else has.
      expect(logHolds(oldLeader, 'minority-'), `node ${oldLeader}'s log before healing`).toBe(true);

      lab!.heal();
      await waitFor(`node ${oldLeader} back in the ISR of ${TOPIC}-0`, async () => {
        const p = await partition0(newLeader);
        return p.leader === newLeader && p.isr.length === NODES;
      }, WAIT_TIMEOUT_MS);
      expect(logHolds(oldLeader, 'minority-'), `node ${oldLeader} back in the ISR still holds its divergent tail`).toBe(false);
      acks.push(...await produceAll(all, Array.from({ length: 100 }, (_, i) => `healed-${i}`)));
      expect(await electPreferred()).toBe(oldLeader);

      // A fresh consumer from offset 0, reading from the old leader now leading again: its log is the majority's.
      const read = await waitFor(`${TOPIC}-0 readable to offset ${acks.length} from node ${oldLeader}`, async () => {
        const r = await python<{ ends: Record<string, number>; records: Record<string, Array<[number, string, number]>> }>(
          'confluent.py', 'consume', bootstrap(all), { topic: TOPIC, partitions: [0], timeout_s: 60 }, 90_000);
        return r.ends['0'] === acks.length && r;
      });
      const records = read.records['0']!;
      expect(records.map(([, value]) => value).filter((v) => v.startsWith('minority-')), 'unacknowledged writes to the isolated leader survived').toEqual([]);
      expect(records.map(([offset, value]) => ({ value, offset }))).toEqual([...acks].sort((a, b) => a.offset - b.offset));
    } catch (e) {
      throw explain(e);
    }
  }, TEST_TIMEOUT_MS);
});

function format(clusterId: string, properties: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [MAIN, 'format', '--cluster-id', clusterId, ...properties], { cwd: REPO_ROOT, timeout: FORMAT_TIMEOUT_MS },
      (error, stdout, stderr) => (error === null ? resolve() : reject(new Error(`sluice format failed: ${error.message}\n${stdout}${stderr}`))));
  });
}

/** `sluice start` inside node `id`'s namespace; resolves once it says it started. */
function startNode(lab: NetnsLab, id: number, properties: readonly string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const { file, args } = lab.execArgs(id, process.execPath, [MAIN, 'start', ...properties]);
  const child = spawn(file, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  // A test runner that dies must not leave nodes running in namespaces nobody will delete.
  process.once('exit', () => child.kill('SIGKILL'));
  let output = '';
  const node = { child, output: () => output };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${id} did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.length > OUTPUT_CHARS_MAX) output = output.slice(-OUTPUT_CHARS_MAX / 2);
      if (/\bSluice started\b/.test(output)) {
        clearTimeout(timer);
        resolve(node);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${id} exited with ${code} before it started:\n${output}`));
    });
  });
}

/** confluent.py produce run inside node `id`'s namespace: a producer that can reach only what that node can. */
async function produceIn(lab: NetnsLab, id: number, servers: string, args: object): Promise<{ reports: Report[]; unflushed: number }> {
  const { file, args: argv } = lab.execArgs(id, PYTHON, [CONFLUENT_SCRIPT, 'produce', servers]);
  const result = await run(file, argv, { input: JSON.stringify(args), timeoutMs: MINORITY_MESSAGE_TIMEOUT_MS + 60_000 });
  if (result.code !== 0) throw new Error(`confluent.py produce in node ${id}'s namespace exited with ${result.code}:\n${result.stderr.slice(-4000)}`);
  return JSON.parse(result.stdout) as { reports: Report[]; unflushed: number };
}
