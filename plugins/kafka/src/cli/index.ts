/**
 * The `sluice` commands this package contributes: the kernel imports this subpath
 * (`@sluice/plugin-kafka/cli`) when a command is not its own.
 */
import type { CliCommand } from '@sluice/sdk';
import { clusterCommand } from './cluster.js';
import { consumeCommand } from './consume.js';
import { groupsCommand } from './groups.js';
import { metadataCommand } from './metadata.js';
import { partitionsCommand } from './partitions.js';
import { produceCommand } from './produce.js';
import { topicsCommand } from './topics.js';
import { transactionsCommand } from './transactions.js';

export const commands: readonly CliCommand[] = [
  topicsCommand, produceCommand, consumeCommand, groupsCommand, transactionsCommand, clusterCommand, metadataCommand, partitionsCommand,
];
