import { ensureFormatted, FormatError, readMetaProperties } from '../config/meta-properties.js';
import { parseArgs, UsageError, type CliContext, type Command } from './args.js';
import { loadConfig } from './load-config.js';

const usage = `Usage: sluice format [server.properties] [--override key=value ...]
                     [--cluster-id ID] [--ignore-formatted]

Writes meta.properties into every log dir, tying it to a cluster and to this node,
as kafka-storage format does. Refuses dirs that are already formatted.

Options:
  --override key=value   Set a property, after the file; may repeat.
  --cluster-id ID        The cluster id (22 characters, as Kafka's); new when omitted.
  --ignore-formatted     Skip dirs already formatted for this cluster and node.
  -h, --help             Show this help.
`;

async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(argv, { values: ['override', 'cluster-id'], flags: ['ignore-formatted'] });
  if (args.flags.has('help')) {
    ctx.stdout(usage);
    return 0;
  }
  if (args.positionals.length > 1) throw new UsageError('expected at most one properties file');
  const clusterIds = args.values.get('cluster-id') ?? [];
  if (clusterIds.length > 1) throw new UsageError('--cluster-id is given twice');
  const config = loadConfig(args.positionals[0], args.values.get('override') ?? [], (msg) => ctx.log.warn(msg));
  try {
    const formatted = config.logDirs.filter((dir) => readMetaProperties(dir) !== undefined);
    if (formatted.length > 0 && !args.flags.has('ignore-formatted')) {
      throw new FormatError(`already formatted: ${formatted.join(', ')}; use --ignore-formatted to skip them`);
    }
    const clusterId = ensureFormatted(config.logDirs, config.nodeId, { clusterId: clusterIds[0], allowFormat: true });
    for (const dir of config.logDirs) {
      ctx.stdout(formatted.includes(dir) ? `${dir}: already formatted, skipped\n` : `${dir}: formatted\n`);
    }
    ctx.stdout(`cluster.id=${clusterId} node.id=${config.nodeId}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    ctx.stderr(`error: ${e.message}\n`);
    return 1;
  }
}

export const formatCommand: Command = { name: 'format', summary: 'Format the log dirs', usage, run };
