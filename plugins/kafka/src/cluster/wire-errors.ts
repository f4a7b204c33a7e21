/** Error codes as the cluster RPC wire mappings read and write them. */
import { KafkaError } from '@sluice/sdk';

const INVALID_REQUEST = 42;

/** A non-zero top-level code, else the per-item one. */
export function firstError(topLevel: number | undefined, item: number | undefined): number {
  return topLevel !== undefined && topLevel !== 0 ? topLevel : item ?? 0;
}

/** A request that does not translate into its RPC. */
export function invalidRequest(message: string): KafkaError {
  return new KafkaError(INVALID_REQUEST, 'INVALID_REQUEST', message);
}
