#!/usr/bin/env node
import { createLogger } from '../logger.js';
import { runCli } from './run.js';

const signals = ['SIGTERM', 'SIGINT'] as const;

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // A getter: opening stdin is left to the commands that read it.
  get stdin() {
    return process.stdin;
  },
  stderrIsTTY: process.stderr.isTTY === true,
  log: createLogger(),
  startBroker: async (config, clusterId, log) => {
    // Imported here so that format, version and --help do not load the log engine.
    const { Broker } = await import('../broker.js');
    return Broker.start(config, clusterId, log);
  },
  onSignal: (handler) => {
    for (const s of signals) process.on(s, handler);
    return () => {
      for (const s of signals) process.off(s, handler);
    };
  },
});
// Exits rather than waiting for the event loop to drain: after a forced stop the broker
// may still hold sockets and timers. Output is flushed first, since writes to pipes are
// asynchronous on some platforms.
const flushed = (stream: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
