/**
 * Metadata snapshots on 3 real processes, with a snapshot every KiB of metadata records: a
 * voter killed while the others create topics comes back behind the leader's log start and
 * catches up by FetchSnapshot (its metadata log then starts at the snapshot's end offset,
 * not 0), sees every topic and the ones created after; a voter restarted later starts from
 * its own newest snapshot and the log after it, and sees them all too.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { clusterPerFile } from './cluster-process.js';
import { runSluice } from './sluice-cli.js';

const TEST_TIMEOUT_MS = 600_000;
const CATCH_UP_TIMEOUT_MS = 120_000;
const TOPICS_WHILE_AWAY = 12;

const cluster = clusterPerFile({ nodes: 3, overrides: { 'metadata.log.max.record.bytes.between.snapshots': '1024' } }, TEST_TIMEOUT_MS);

function metadataLogFiles(nodeId: number): string[] {
  return readdirSync(join(cluster.node(nodeId).dataDir, '__cluster_metadata-0')).sort();
}

async function topicNames(nodeId: number): Promise<string[]> {
  return (await cluster.metadata(nodeId)).topics.map((t) => t.name).filter((n): n is string => n !== null && !n.startsWith('__')).sort();
}

async function createTopic(name: string, via: number): Promise<void> {
  const created = await runSluice(cluster.bootstrap(via), ['topics', 'create', name, '--partitions', '3', '--replication-factor', '2', '--config', 'retention.ms=3600000']);
  expect(created.code, created.stderr).toBe(0);
}

it('a voter behind the leader\'s log start catches up by snapshot, and a restarted voter starts from its snapshot', async () => {
  try {
    const away = 3;
    await cluster.kill(away, 'SIGKILL');
    const names = Array.from({ length: TOPICS_WHILE_AWAY }, (_, i) => `snap-${String(i).padStart(2, '0')}`);
    for (const name of names) await createTopic(name, 1);
    await cluster.waitFor('a snapshot on both remaining voters', () => [1, 2].every((n) => metadataLogFiles(n).some((f) => f.endsWith('.checkpoint'))));

    await cluster.restart(away);
    await cluster.waitFor(`node ${away} to see every topic`, async () => (await topicNames(away)).join() === names.join(), CATCH_UP_TIMEOUT_MS);
    // Installed from the leader's snapshot: the log was restarted at the snapshot's end, so no segment at offset 0 is left.
    const logs = metadataLogFiles(away).filter((f) => f.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    expect(logs[0]).not.toBe(`${'0'.repeat(20)}.log`);
    expect(metadataLogFiles(away).some((f) => f.endsWith('.checkpoint'))).toBe(true);

    await createTopic('snap-after', away);
    const all = [...names, 'snap-after'].sort();
    await cluster.waitFor(`snap-after on node ${away}`, async () => (await topicNames(away)).join() === all.join(), CATCH_UP_TIMEOUT_MS);

    await cluster.kill(1, 'SIGTERM');
    await cluster.restart(1);
    await cluster.waitFor('node 1 back with every topic', async () => (await topicNames(1)).join() === all.join(), CATCH_UP_TIMEOUT_MS);
    await cluster.waitFor('3 brokers again', async () => (await cluster.status()).brokers.length === 3, CATCH_UP_TIMEOUT_MS);
  } catch (e) {
    throw cluster.explain(e);
  }
}, TEST_TIMEOUT_MS);
