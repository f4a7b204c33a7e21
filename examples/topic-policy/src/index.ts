/**
 * A topic-naming policy: topics that clients create (CreateTopics, or Metadata's
 * auto-creation) must match `topic-policy.pattern`, or they get POLICY_VIOLATION with a
 * message naming the rule. Load it with
 * `plugins=kafka,./examples/topic-policy/dist/index.js`.
 */
// Types only: the plugin imports nothing from the SDK at run time, so a packed tarball
// installs next to a broker without @sluice/sdk being installable there.
import type { SluicePlugin } from '@sluice/sdk';

const POLICY_VIOLATION = 44;

const plugin: SluicePlugin = {
  manifest: {
    id: 'topic-policy',
    version: '0.1.0',
    sdk: '^0.1.0',
    description: 'Rejects topic creation whose name does not match a regular expression',
    configSchema: {
      type: 'object',
      properties: {
        pattern: { type: 'string', minLength: 1, description: 'a JavaScript regular expression the whole name must match' },
      },
      required: ['pattern'],
    },
  },
  start(ctx) {
    const source = ctx.config['pattern']!;
    // Anchored so that `[a-z]+` means "only lowercase letters", as an operator reads it,
    // not "contains one".
    const pattern = new RegExp(`^(?:${source})$`);
    ctx.on('topic.create.policy', (input) => {
      if (pattern.test(input.topic)) return { outcome: 'next' };
      ctx.log.info('topic creation refused', { topic: input.topic, via: input.via, principal: input.principal.name,
        client: input.clientId });
      return { outcome: 'reject', errorCode: POLICY_VIOLATION, reason: `topic name ${input.topic} does not match the naming policy /${source}/` };
    });
  },
};

export default plugin;
