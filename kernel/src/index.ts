export { PartitionLog } from './log/partition-log.js';
export { buildBatch } from './log/batch-builder.js';
export { toLogConfig } from './config/topic-config.js';
export { systemClock } from './clock.js';
