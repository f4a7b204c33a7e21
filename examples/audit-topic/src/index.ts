/**
 * An audit log kept in a topic: every topic created, deleted or reconfigured becomes one
 * JSON record `{ event, topic, ..., principal, clientId, timestampMs }` in
 * `audit-topic.topic` (default `__sluice_audit`, created with one partition at start).
 * The kernel's events carry no request, so the principal and client id come from the
 * policy hooks asked before each change a client makes (`topic.create.policy`,
 * `topic.delete.policy`, `topic.config.policy`); they are null for changes made by
 * plugins through the kernel. Load it with `plugins=kafka,./examples/audit-topic/dist/index.js`.
 */
// Types only: the plugin imports nothing from the SDK at run time, so a packed tarball
// installs next to a broker without @sluice/sdk being installable there.
import type { PartitionHandle, Principal, SluicePlugin } from '@sluice/sdk';
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
    // The policy hooks see the request; the events after them do not. A requester is
    // remembered per event and topic until the event is reported; a change that fails
    // after its policy leaves an entry that the next request of its kind overwrites.
    const requesters = new Map<string, Requester>();
    const remember = (event: string, topic: string, input: { principal: Principal; clientId: string | null }) =>
      requesters.set(`${event}\u0000${topic}`, { principal: `${input.principal.type}:${input.principal.name}`, clientId: input.clientId });
    const requester = (event: string, topic: string): Requester | undefined => {
      const key = `${event}\u0000${topic}`;
      const who = requesters.get(key);
      requesters.delete(key);
      return who;
    };

    const write = (event: string, topic: string, fields: Record<string, unknown>, who: Requester | undefined): void => {
      if (topic === auditTopic) return;
      const record = { event, topic, ...fields, principal: who?.principal ?? null, clientId: who?.clientId ?? null,
        timestampMs: Date.now() };
      partition.append(encodeBatch([encoder.encode(JSON.stringify(record))], record.timestampMs), 'leader')
        .catch((err: unknown) => ctx.log.error('audit record not written', { event, topic, error: String(err) }));
    };

    // `post`: the requester is remembered only once every other policy had its say.
    ctx.on('topic.create.policy', (input) => {
      if (!input.validateOnly) remember('topic.created', input.topic, input);
      return { outcome: 'next' };
    }, { order: 'post' });
    ctx.on('topic.delete.policy', (input) => {
      remember('topic.deleted', input.topic, input);
      return { outcome: 'next' };
    }, { order: 'post' });
    ctx.on('topic.config.policy', (input) => {
      if (!input.validateOnly) remember('topic.config.changed', input.topic, input);
      return { outcome: 'next' };
    }, { order: 'post' });
    ctx.on('topic.created', (e) =>
      write('topic.created', e.topic.name, { partitions: e.topic.partitions }, requester('topic.created', e.topic.name)));
    ctx.on('topic.deleted', (e) => write('topic.deleted', e.name, {}, requester('topic.deleted', e.name)));
    ctx.on('topic.config.changed', (e) =>
      write('topic.config.changed', e.name, { configs: e.configs }, requester('topic.config.changed', e.name)));
  },
};

export default plugin;
