/**
 * The Kafka client behind `sluice topics`, `produce` and `consume`, written on this
 * package's generated codecs rather than taken from a client library.
 *
 * Why: the commands need a dozen requests, each at one negotiated version, and their exact
 * error codes, which is a few hundred lines here. A library would be a runtime dependency of
 * the broker's own package for that: KafkaJS is unmaintained since 2023, and
 * @platformatic/kafka, well kept, requires Node 22 from its 2.x line while Sluice supports
 * Node 20, so it would be pinned to a superseded major. Both wrap Kafka's errors in their
 * own types and retry on their own terms, where an operator's tool should report the
 * broker's answer as it is. And every run of these commands exercises the codecs the broker
 * serves with, from the client's side (request encoders, response decoders) that the broker
 * itself never runs.
 *
 * Scope: PLAINTEXT, no SASL or TLS yet; requests pipelined on one connection per broker
 * (Kafka answers in order, see client/connection.ts); produce and fetch go to each
 * partition's leader.
 */
import {
  ApiKey, ZERO_UUID,
  type Decoded, type KnownApiKey, type MetadataResponse, type RequestOf, type ResponseOf,
} from '../protocol/index.js';
import { KafkaConnection } from '../client/connection.js';
import { errorName } from './error-names.js';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';
const CLIENT_ID = 'sluice-cli';
const CONNECT_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
/** Larger than any response the commands ask for (Fetch asks for 50 MiB at most). */
const RESPONSE_BYTES_MAX = 128 * 1024 * 1024;

/**
 * The versions this client can write and read, per API: the bodies it builds carry every
 * field those versions need. The highest version both sides serve is used.
 */
const CLIENT_VERSIONS: ReadonlyMap<KnownApiKey, readonly [number, number]> = new Map([
  [ApiKey.Produce, [3, 11]],
  // Topic names: ids only from v13.
  [ApiKey.Fetch, [4, 12]],
  [ApiKey.ListOffsets, [1, 8]],
  // allow_auto_topic_creation from v4, so that describe and consume never create a topic.
  [ApiKey.Metadata, [4, 12]],
  // num_partitions and replication_factor -1 (the broker's defaults) from v4.
  [ApiKey.CreateTopics, [4, 7]],
  [ApiKey.DeleteTopics, [1, 6]],
  // Config sources from v1.
  [ApiKey.DescribeConfigs, [1, 4]],
  [ApiKey.CreatePartitions, [0, 3]],
  [ApiKey.IncrementalAlterConfigs, [0, 1]],
  // Many keys per request (KIP-699) from v4.
  [ApiKey.FindCoordinator, [4, 6]],
  // Group states from v4.
  [ApiKey.ListGroups, [4, 5]],
  [ApiKey.DescribeGroups, [0, 5]],
  // Groups as an array (KIP-709) from v8.
  [ApiKey.OffsetFetch, [8, 9]],
  [ApiKey.OffsetCommit, [2, 9]],
  [ApiKey.DeleteGroups, [0, 2]],
  [ApiKey.ListTransactions, [0, 1]],
  [ApiKey.DescribeTransactions, [0, 0]],
  [ApiKey.DescribeProducers, [0, 0]],
  [ApiKey.WriteTxnMarkers, [0, 1]],
  // Endpoint types (KIP-919) from v1.
  [ApiKey.DescribeCluster, [0, 1]],
  [ApiKey.DescribeQuorum, [0, 2]],
  // Election types (unclean) from v1.
  [ApiKey.ElectLeaders, [1, 2]],
  [ApiKey.AlterPartitionReassignments, [0, 0]],
  [ApiKey.ListPartitionReassignments, [0, 0]],
  [ApiKey.AddRaftVoter, [0, 0]],
  [ApiKey.RemoveRaftVoter, [0, 0]],
] as const);
const API_VERSIONS_VERSION = 3;
const COORDINATOR_KEY_GROUP = 0;
/** FindCoordinator answers a client retries: the coordinator is starting or just moved. */
const COORDINATOR_RETRIABLE = new Set([14, 15, 16]);
const COORDINATOR_BACKOFF_MS = 100;

/** A Kafka error code in an answer, with what was being done and the broker's message. */
export class KafkaResponseError extends Error {
  constructor(
    readonly code: number,
    what: string,
    brokerMessage?: string | null,
  ) {
    super(`${what}: ${errorName(code)}${brokerMessage ? ` (${brokerMessage})` : ''}`);
    this.name = 'KafkaResponseError';
  }
}

export function parseHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`bad broker address "${address}": expected host:port`);
  }
  return { host, port };
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A connection to one broker with the versions both sides serve, negotiated when it opens. */
class Connection {
  private constructor(
    readonly address: string,
    private readonly wire: KafkaConnection,
    private readonly versions: ReadonlyMap<number, readonly [number, number]>,
  ) {}

  static async open(address: string): Promise<Connection> {
    const { host, port } = parseHostPort(address);
    // lateAnswerMsMax 0: a command gives up on a broker at its first unanswered request.
    const wire = await KafkaConnection.open(host, port, {
      clientId: CLIENT_ID, connectTimeoutMs: CONNECT_TIMEOUT_MS, responseBytesMax: RESPONSE_BYTES_MAX, lateAnswerMsMax: 0,
    });
    let answer;
    try {
      answer = await wire.send(ApiKey.ApiVersions, API_VERSIONS_VERSION, {
        clientSoftwareName: CLIENT_ID, clientSoftwareVersion: '0.1.0',
      }, REQUEST_TIMEOUT_MS);
    } catch (e) {
      wire.close();
      throw e;
    }
    if (answer.errorCode !== 0) {
      wire.close();
      throw new KafkaResponseError(answer.errorCode, `ApiVersions to ${address}`);
    }
    return new Connection(address, wire, new Map(answer.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as const])));
  }

  /** The highest version of `apiKey` both sides serve. */
  versionOf(apiKey: KnownApiKey): number {
    const [clientMin, clientMax] = CLIENT_VERSIONS.get(apiKey)!;
    const served = this.versions.get(apiKey);
    const version = Math.min(clientMax, served?.[1] ?? -1);
    if (served === undefined || version < Math.max(clientMin, served[0])) {
      const name = Object.entries(ApiKey).find(([, key]) => key === apiKey)![0];
      const range = served === undefined ? 'does not serve it' : `serves v${served[0]}-${served[1]}`;
      throw new Error(`the broker at ${this.address} cannot answer ${name}: this client needs v${clientMin}-${clientMax}, the broker ${range}`);
    }
    return version;
  }

  send<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Decoded<ResponseOf<K>>> {
    return this.wire.send(apiKey, version, body, timeoutMs);
  }

  /** For requests the broker does not answer (Produce with acks=0): resolves once written. */
  sendUnanswered<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>): Promise<void> {
    return this.wire.sendUnanswered(apiKey, version, body);
  }

  close(): void {
    this.wire.close();
  }
}

export type Metadata = Decoded<MetadataResponse>;
export type TopicMetadata = Metadata['topics'][number];

/** Connections to the bootstrap broker and to partition leaders, opened as needed. */
export class KafkaClient {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly brokers = new Map<number, string>();

  constructor(private readonly bootstrap: string) {
    parseHostPort(bootstrap);
  }

  /** A request to the bootstrap broker, or to `nodeId` as the last Metadata named it. */
  async request<K extends KnownApiKey>(apiKey: K, body: RequestOf<K>, opts: { nodeId?: number; timeoutMs?: number } = {}): Promise<Decoded<ResponseOf<K>>> {
    const connection = await this.connection(opts.nodeId);
    return connection.send(apiKey, connection.versionOf(apiKey), body, opts.timeoutMs);
  }

  async requestUnanswered<K extends KnownApiKey>(apiKey: K, body: RequestOf<K>, nodeId: number): Promise<void> {
    const connection = await this.connection(nodeId);
    return connection.sendUnanswered(apiKey, connection.versionOf(apiKey), body);
  }

  /** Every topic for null; remembers the brokers' addresses for later requests to leaders. */
  async metadata(topics: readonly string[] | null, allowAutoTopicCreation = false): Promise<Metadata> {
    const answer = await this.request(ApiKey.Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    for (const b of answer.brokers) this.brokers.set(b.nodeId, hostPort(b.host, b.port));
    return answer;
  }

  /** One topic's metadata; a KafkaResponseError if the broker reports an error for it. */
  async topic(name: string, allowAutoTopicCreation = false): Promise<TopicMetadata> {
    const answer = await this.metadata([name], allowAutoTopicCreation);
    const topic = answer.topics.find((t) => t.name === name);
    if (topic === undefined) throw new Error(`the broker did not describe topic ${name}`);
    if (topic.errorCode !== 0) throw new KafkaResponseError(topic.errorCode, `topic ${name}`);
    return topic;
  }

  /** Where later requests to `nodeId` go, when an answer other than Metadata named its address. */
  rememberNode(nodeId: number, host: string, port: number): void {
    this.brokers.set(nodeId, hostPort(host, port));
  }

  /**
   * The node coordinating `groupId`, whose address later requests use. Retried while the
   * broker loads the group's partition of __consumer_offsets (right after a start), as
   * Kafka's admin client does, up to REQUEST_TIMEOUT_MS.
   */
  async groupCoordinator(groupId: string): Promise<number> {
    const deadline = Date.now() + REQUEST_TIMEOUT_MS;
    for (let backoffMs = COORDINATOR_BACKOFF_MS; ; backoffMs = Math.min(backoffMs * 2, 1000)) {
      const answer = await this.request(ApiKey.FindCoordinator, { keyType: COORDINATOR_KEY_GROUP, coordinatorKeys: [groupId] });
      const found = answer.coordinators.find((c) => c.key === groupId);
      if (found === undefined) throw new Error(`the broker did not name a coordinator for group ${groupId}`);
      if (found.errorCode === 0) {
        this.brokers.set(found.nodeId, hostPort(found.host, found.port));
        return found.nodeId;
      }
      if (!COORDINATOR_RETRIABLE.has(found.errorCode) || Date.now() + backoffMs > deadline) {
        throw new KafkaResponseError(found.errorCode, `coordinator of group ${groupId}`, found.errorMessage);
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }

  close(): void {
    for (const c of this.connections.values()) c.then((connection) => connection.close(), () => {});
    this.connections.clear();
  }

  private connection(nodeId: number | undefined): Promise<Connection> {
    let address = this.bootstrap;
    if (nodeId !== undefined) {
      const known = this.brokers.get(nodeId);
      if (known === undefined) return Promise.reject(new Error(`no address known for broker ${nodeId}`));
      address = known;
    }
    let connection = this.connections.get(address);
    if (connection === undefined) {
      connection = Connection.open(address);
      this.connections.set(address, connection);
      // A failed connect is not kept, so that a later request tries again.
      connection.catch(() => this.connections.delete(address));
    }
    return connection;
  }
}
