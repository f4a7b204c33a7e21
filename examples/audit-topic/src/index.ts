/**
 * An audit log kept in a topic: every topic created, deleted or reconfigured becomes one
 * JSON record `{ event, topic, ..., principal, clientId, timestampMs }` in
 * `audit-topic.topic` (default `__sluice_audit`, created with one partition at start).
 * The principal and client id are known for topics clients create (from the
 * `topic.create.policy` hook); the kernel's delete and config events carry no request, so
 * they are null there. Load it with `plugins=kafka,./examples/audit-topic/dist/index.js`.
 */
// Types only: the plugin imports nothing from the SDK at run time, so a packed tarball
// installs next to a broker without @sluice/sdk being installable there.
import type { PartitionHandle, SluicePlugin } from '@sluice/sdk';
import { encodeBatch } from './record-batch.js';

interface Requester {
  readonly principal: string;
  readonly clientId: string | null;
}

const encoder = new TextEncoder();

const plugin: SluicePlugin = {
  manifest: {
    id: 'audit-topic',
    version: '0.1.0',
    sdk: '^0.1.0',
    description: 'Writes topic creations, deletions and config changes as JSON records to an audit topic',
    configSchema: {
      type: 'object',
      properties: { topic: { type: 'string', minLength: 1, description: 'the audit topic (default __sluice_audit)' } },
    },
  },
  async start(ctx) {
    const auditTopic = ctx.config['topic'] ?? '__sluice_audit';
    if (ctx.kernel.describeTopic(auditTopic) === undefined) await ctx.kernel.createTopic(auditTopic, 1, {});
    const partition: PartitionHandle = ctx.kernel.partition(auditTopic, 0)!;
    // The policy hook sees the request; topic.created does not. Remembered until the
    // creation is reported; a creation that fails after the policy leaves an entry that
    // the next creation of that name overwrites.
    const requesters = new Map<string, Requester>();

    const write = (event: string, topic: string, fields: Record<string, unknown>, who: Requester | undefined): void => {
      if (topic === auditTopic) return;
      const record = { event, topic, ...fields, principal: who?.principal ?? null, clientId: who?.clientId ?? null,
        timestampMs: Date.now() };
      partition.append(encodeBatch([encoder.encode(JSON.stringify(record))], record.timestampMs), 'leader')
        .catch((err: unknown) => ctx.log.error('audit record not written', { event, topic, error: String(err) }));
    };

    ctx.on('topic.create.policy', (input) => {
      if (!input.validateOnly) {
        requesters.set(input.topic, { principal: `${input.principal.type}:${input.principal.name}`, clientId: input.clientId });
      }
      return { outcome: 'next' };
    }, { order: 'post' });
    ctx.on('topic.created', (e) => {
      const who = requesters.get(e.topic.name);
      requesters.delete(e.topic.name);
      write('topic.created', e.topic.name, { partitions: e.topic.partitions }, who);
    });
    ctx.on('topic.deleted', (e) => write('topic.deleted', e.name, {}, undefined));
    ctx.on('topic.config.changed', (e) => write('topic.config.changed', e.name, { configs: e.configs }, undefined));
  },
};

export default plugin;
