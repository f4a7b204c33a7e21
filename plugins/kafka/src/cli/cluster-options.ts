/** The option the cluster commands add to the Kafka commands' ones: where a controller answers. */
import { CliUsageError, type Args } from '@sluice/sdk';
import { parseHostPort } from './client.js';
import { single } from './options.js';

export const CONTROLLER_USAGE = `  --bootstrap-controller host:port   A controller to ask about the quorum (default: the
                                     bootstrap server).`;

/** `--bootstrap-controller`, checked as host:port; undefined when not given. */
export function bootstrapController(args: Args): string | undefined {
  const address = single(args, 'bootstrap-controller');
  if (address === undefined) return undefined;
  try {
    parseHostPort(address);
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
  return address;
}
