/**
 * What the commands share: argument parsing, and the process as commands see it. The
 * parser and the usage error come from the SDK, since plugin commands use them too.
 */
import type { CliIo, Logger } from '@sluice/sdk';
import type { BrokerConfig } from '../config/broker-config.js';

export { CliUsageError as UsageError, parseArgs, type ArgSpec, type Args } from '@sluice/sdk';

/** The running broker, as the `start` command drives it. */
export interface RunningBroker {
  stop(): Promise<void>;
}

/** The process as the kernel's commands see it: a plugin command gets the `CliIo` part. */
export interface CliContext extends CliIo {
  readonly log: Logger;
  readonly startBroker: (config: BrokerConfig, clusterId: string, log: Logger) => Promise<RunningBroker>;
  /** Calls `handler` on SIGTERM and SIGINT until the returned function is called. */
  readonly onSignal: (handler: (signal: string) => void) => () => void;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[], ctx: CliContext): Promise<number>;
}
