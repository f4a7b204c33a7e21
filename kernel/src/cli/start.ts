import { ensureFormatted } from '../config/meta-properties.js';
import { parseArgs, UsageError, type CliContext, type Command, type RunningBroker } from './args.js';
import { loadConfig } from './load-config.js';

const usage = `Usage: sluice start [server.properties] [--override key=value ...]

Starts the broker. Without a properties file, Kafka's defaults and a single node
listening on PLAINTEXT://:9092 with its data in ./data. Log dirs that are not yet
formatted are formatted, with a new cluster id on first start; a node of a multi-node
cluster (controller.quorum.voters lists several nodes) must be formatted with the
cluster's id first (sluice format --cluster-id ID).

Options:
  --override key=value   Set a property, after the file; may repeat.
  -h, --help             Show this help.
`;

async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(argv, { values: ['override'] });
  if (args.flags.has('help')) {
    ctx.stdout(usage);
    return 0;
  }
  if (args.positionals.length > 1) throw new UsageError('expected at most one properties file');
  const config = loadConfig(args.positionals[0], args.values.get('override') ?? [], (msg) => ctx.log.warn(msg));
  // A new id would make this node a cluster of its own that its peers refuse to talk to.
  const clusterId = ensureFormatted(config.logDirs, config.nodeId, { allowFormat: config.quorumVoters.length <= 1 });
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let broker: RunningBroker | undefined;
  let stopping = false;
  const stop = (running: RunningBroker): void => {
    running.stop().then(
      () => {
        ctx.log.info('stopped');
        finish(0);
      },
      (e: unknown) => {
        ctx.log.error('stop failed', { error: e });
        finish(1);
      },
    );
  };
  // Listening from before the start, so that a SIGTERM during a long log recovery stops
  // the broker once it is up rather than killing the process half way.
  const removeHandler = ctx.onSignal((signal) => {
    if (stopping) {
      ctx.log.error(`${signal} while stopping; exiting without a clean stop`);
      finish(1);
      return;
    }
    stopping = true;
    ctx.log.info('stopping', { signal });
    if (broker !== undefined) stop(broker);
  });
  try {
    const first = await Promise.race([
      ctx.startBroker(config, clusterId, ctx.log).then((running) => ({ running })),
      finished.then((code) => ({ code })),
    ]);
    if ('code' in first) return first.code;
    broker = first.running;
    ctx.log.info(
      `Sluice started: node ${config.nodeId}, cluster ${clusterId}, log dirs ${config.logDirs.join(', ')}, ` +
        // Listeners are logged by the frontend plugins when they bind, not promised here.
        `plugins ${config.plugins.length === 0 ? 'none' : config.plugins.join(', ')}`,
    );
    if (stopping) stop(broker);
    return await finished;
  } finally {
    removeHandler();
  }
}

export const startCommand: Command = { name: 'start', summary: 'Start the broker', usage, run };
