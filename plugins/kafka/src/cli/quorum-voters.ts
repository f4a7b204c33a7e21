/**
 * The voter set changes behind `sluice metadata quorum add-controller|remove-controller`:
 * AddRaftVoter and RemoveRaftVoter (KIP-853), sent to the quorum leader (the active
 * controller), which is the only node that can change the voter set. The leader is found
 * with DescribeQuorum: the node the command bootstraps from answers it when it leads, and
 * otherwise names the leader. A change refused with NOT_LEADER_OR_FOLLOWER (leadership
 * moved between the two requests) is sent once more to the leader found again.
 */
import { ErrorCode } from '../error-codes.js';
import { ApiKey, uuidToString, type AddRaftVoterResponse, type Decoded, type RemoveRaftVoterResponse } from '../protocol/index.js';
import { KafkaClient, KafkaResponseError } from './client.js';
import { endpointText } from './cluster-health.js';
import { METADATA_TOPIC } from './cluster-queries.js';
import type { NewController } from './controller-properties.js';

/** How long the leader may take to commit the change; the request waits a little longer for its answer. */
export const VOTER_CHANGE_TIMEOUT_MS = 30_000;
const ANSWER_MARGIN_MS = 5_000;
const SEND_ATTEMPTS_MAX = 2;

type VoterChangeAnswer = Decoded<AddRaftVoterResponse> | Decoded<RemoveRaftVoterResponse>;

/**
 * The quorum leader as a node the client can address: undefined when the bootstrap node
 * leads; otherwise its id, with its address taken from the voters' endpoints
 * (DescribeQuorum v2 Nodes) or, without them, from Metadata.
 */
async function quorumLeader(client: KafkaClient): Promise<number | undefined> {
  const answer = await client.request(ApiKey.DescribeQuorum, { topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] }] });
  if (answer.errorCode !== 0) throw new KafkaResponseError(answer.errorCode, 'DescribeQuorum', answer.errorMessage);
  const partition = answer.topics.find((t) => t.topicName === METADATA_TOPIC)?.partitions[0];
  if (partition === undefined) throw new Error(`the node did not describe ${METADATA_TOPIC}-0`);
  if (partition.errorCode === 0) return undefined;
  if (partition.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER || partition.leaderId < 0) {
    throw new KafkaResponseError(partition.errorCode, 'DescribeQuorum: no quorum leader known', partition.errorMessage);
  }
  const endpoint = answer.nodes?.find((n) => n.nodeId === partition.leaderId)?.listeners[0];
  if (endpoint !== undefined) client.rememberNode(partition.leaderId, endpoint.host, endpoint.port);
  else await client.metadata([]);
  return partition.leaderId;
}

/**
 * The change's answer, sent again after NOT_LEADER_OR_FOLLOWER. That answer also comes from a
 * leader that lost its leadership after appending the change, which may still commit: a
 * refusal of the second attempt then says so, as DUPLICATE_VOTER or VOTER_NOT_FOUND would
 * otherwise read as if nothing had happened.
 */
async function sendToLeader(client: KafkaClient, what: string, send: (nodeId: number | undefined) => Promise<VoterChangeAnswer>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const answer = await send(await quorumLeader(client));
    if (answer.errorCode === 0) return;
    if (answer.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER || attempt === SEND_ATTEMPTS_MAX) {
      const retried = attempt > 1 ? '; sent again after NOT_LEADER_OR_FOLLOWER, so the first attempt may have taken effect' : '';
      throw new KafkaResponseError(answer.errorCode, what, `${answer.errorMessage ?? ''}${retried}`.replace(/^; /, ''));
    }
  }
}

/** Adds `node` to the voter set; resolves with the line to print, throws KafkaResponseError when refused. */
export async function addController(client: KafkaClient, node: NewController): Promise<string> {
  await sendToLeader(client, `AddRaftVoter of node ${node.nodeId}`, (nodeId) => client.request(ApiKey.AddRaftVoter, {
    clusterId: null, timeoutMs: VOTER_CHANGE_TIMEOUT_MS, voterId: node.nodeId, voterDirectoryId: node.directoryId,
    listeners: node.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
  }, { nodeId, timeoutMs: VOTER_CHANGE_TIMEOUT_MS + ANSWER_MARGIN_MS }));
  return `Added controller ${node.nodeId} with directory id ${uuidToString(node.directoryId)} and endpoints ${node.listeners.map(endpointText).join(', ')}\n`;
}

/** Removes voter `voterId` (of `directoryId`; all zero: whichever it has) from the voter set. */
export async function removeController(client: KafkaClient, voterId: number, directoryId: Uint8Array): Promise<string> {
  await sendToLeader(client, `RemoveRaftVoter of node ${voterId}`, (nodeId) => client.request(ApiKey.RemoveRaftVoter, {
    clusterId: null, voterId, voterDirectoryId: directoryId,
  }, { nodeId, timeoutMs: VOTER_CHANGE_TIMEOUT_MS + ANSWER_MARGIN_MS }));
  return `Removed controller ${voterId} from the metadata quorum\n`;
}
