/**
 * Kafka error codes of the controller and broker registration paths (numbers from Kafka's
 * `Errors.java`), as KafkaErrors. Kept beside the controller rather than in errors.ts while
 * the cluster work lands in parallel; they merge into ErrorCode unchanged.
 */
import { KafkaError } from '@sluice/sdk';
import { ErrorCode } from '../errors.js';

export const ControllerErrorCode = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_LEADER_OR_FOLLOWER,
  REQUEST_TIMED_OUT: 7,
  INVALID_TOPIC_EXCEPTION: ErrorCode.INVALID_TOPIC_EXCEPTION,
  TOPIC_ALREADY_EXISTS: ErrorCode.TOPIC_ALREADY_EXISTS,
  INVALID_PARTITIONS: ErrorCode.INVALID_PARTITIONS,
  INVALID_REPLICATION_FACTOR: ErrorCode.INVALID_REPLICATION_FACTOR,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: ErrorCode.INVALID_CONFIG,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  TOPIC_DELETION_DISABLED: 73,
  FENCED_LEADER_EPOCH: 74,
  STALE_BROKER_EPOCH: 77,
  PREFERRED_LEADER_NOT_AVAILABLE: 80,
  ELIGIBLE_LEADERS_NOT_AVAILABLE: 83,
  ELECTION_NOT_NEEDED: 84,
  NO_REASSIGNMENT_IN_PROGRESS: 85,
  UNKNOWN_TOPIC_ID: 100,
  DUPLICATE_BROKER_REGISTRATION: 101,
  BROKER_ID_NOT_REGISTERED: 102,
  INCONSISTENT_CLUSTER_ID: 104,
  INELIGIBLE_REPLICA: 107,
  INVALID_UPDATE_VERSION: 108,
} as const;

export type ControllerErrorName = keyof typeof ControllerErrorCode;

export function controllerError(name: ControllerErrorName, message: string): KafkaError {
  return new KafkaError(ControllerErrorCode[name], name, message);
}

/** A KafkaError for an error code a controller response carried. */
export function errorFromCode(code: number, message: string): KafkaError {
  const name = Object.entries(ControllerErrorCode).find(([, v]) => v === code)?.[0] ?? `ERROR_${code}`;
  return new KafkaError(code, name, message);
}
