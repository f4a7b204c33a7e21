/** @sluice/kernel: the broker process and its log engine. Plugins use @sluice/sdk instead. */
export { Broker } from './broker.js';
export { PartitionLog, type PartitionLogOptions } from './log/partition-log.js';
export { LogManager } from './log/log-manager.js';
export { buildBatch, type RecordInput, type BatchFields } from './log/batch-builder.js';
export { toLogConfig, TOPIC_CONFIG_DEFS, type LogConfig } from './config/topic-config.js';
export { loadBrokerConfig, brokerConfigTable, type BrokerConfig } from './config/broker-config.js';
export { systemClock, ManualClock, type Clock } from './clock.js';
export { createLogger } from './logger.js';
export { ErrorCode } from './errors.js';
export { HookDriver, type HookFailureCount } from './plugins/hook-driver.js';
