import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterRpcName, DescribeQuorumResponse, HookRunner, Kernel, Logger, VoterChangeResponse } from '@sluice/sdk';
import { allApis } from '../apis/index.js';
import { forwardedApis } from '../cluster/forwarded-apis.js';
import { Dispatcher, type SharedContext } from '../dispatcher.js';
import { FetchSessions } from '../fetch-sessions.js';
import { uuidToString } from '../protocol/index.js';
import { KafkaServer } from '../server/server.js';
import { KafkaClient } from './client.js';
import { addController, removeController } from './quorum-voters.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const noHooks = { hasHandlers: () => false } as unknown as HookRunner;
const DIRECTORY_ID = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const NODE_4 = { nodeId: 4, directoryId: DIRECTORY_ID, listeners: [{ name: 'CONTROLLER', host: 'node4.example', port: 9093 }] };

/** A node serving the plugin's real handlers, whose kernel answers the quorum RPCs from `answers`. */
class QuorumNode {
  readonly received: Array<{ rpc: ClusterRpcName; request: unknown }> = [];
  describe: () => DescribeQuorumResponse = () => leading(this.nodeId);
  voterChange: () => VoterChangeResponse = () => ({ errorCode: 0, errorMessage: null });
  port = 0;
  private server: KafkaServer | undefined;

  constructor(readonly nodeId: number) {}

  async start(): Promise<this> {
    const kernel = {
      nodeId: this.nodeId,
      cluster: {
        handle: (rpc: ClusterRpcName, request: unknown) => {
          this.received.push({ rpc, request });
          return Promise.resolve(rpc === 'raft.describe-quorum' ? this.describe() : this.voterChange());
        },
      },
    } as unknown as Kernel;
    const shared = {
      kernel, broker: { nodeId: this.nodeId, clusterId: 'cluster-1', listeners: [], advertisedListeners: [], props: {} }, log: quiet,
      config: {}, signal: new AbortController().signal, hooks: noHooks, fetchSessions: new FetchSessions(10),
    } as unknown as SharedContext;
    this.server = new KafkaServer(new Dispatcher(allApis, shared, forwardedApis).handle, {
      requestSizeBytesMax: 1 << 20, idleMsMax: 60_000, inFlightRequestsMax: 16, writeBufferBytesMax: 1 << 20,
    }, quiet);
    this.port = (await this.server.listen([{ name: 'CONTROLLER', host: '127.0.0.1', port: 0, securityProtocol: 'PLAINTEXT' }]))[0]!.port;
    return this;
  }

  get changes(): ClusterRpcName[] {
    return this.received.map((r) => r.rpc).filter((rpc) => rpc !== 'raft.describe-quorum');
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }
}

function leading(leaderId: number): DescribeQuorumResponse {
  return { errorCode: 0, leaderId, leaderEpoch: 3, highWatermark: 10, voters: [], observers: [] };
}

/** A non-leader's answer naming `leader`, with its endpoint. */
function redirect(leader: QuorumNode): DescribeQuorumResponse {
  return {
    errorCode: 6, leaderId: leader.nodeId, leaderEpoch: 3, highWatermark: -1, voters: [], observers: [],
    nodes: [{ nodeId: leader.nodeId, listeners: [{ name: 'CONTROLLER', host: '127.0.0.1', port: leader.port }] }],
  };
}

const nodes: QuorumNode[] = [];
const clients: KafkaClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const n of nodes.splice(0)) await n.stop();
});

async function quorum(...ids: number[]): Promise<QuorumNode[]> {
  const started = await Promise.all(ids.map((id) => new QuorumNode(id).start()));
  nodes.push(...started);
  return started;
}

function clientOf(node: QuorumNode): KafkaClient {
  const client = new KafkaClient(`127.0.0.1:${node.port}`);
  clients.push(client);
  return client;
}

describe('add-controller / remove-controller requests', () => {
  it('sends the change to the node bootstrapped from when it leads, and prints what was added', async () => {
    const [leader] = await quorum(1);
    expect(await addController(clientOf(leader!), NODE_4))
      .toBe(`Added controller 4 with directory id ${uuidToString(DIRECTORY_ID)} and endpoints CONTROLLER://node4.example:9093\n`);
    const sent = leader!.received.find((r) => r.rpc === 'raft.add-voter')!.request as { voterDirectoryId: Uint8Array };
    expect(sent).toMatchObject({ clusterId: 'cluster-1', voterId: 4, listeners: NODE_4.listeners });
    expect(uuidToString(sent.voterDirectoryId)).toBe(uuidToString(DIRECTORY_ID));
  });

  it('goes to the leader another node names, at the endpoint DescribeQuorum gives for it', async () => {
    const [follower, leader] = await quorum(1, 2);
    follower!.describe = () => redirect(leader!);
    expect(await removeController(clientOf(follower!), 3, new Uint8Array(16))).toBe('Removed controller 3 from the metadata quorum\n');
    expect(follower!.changes).toEqual([]);
    expect(leader!.received.map((r) => r.rpc)).toEqual(['raft.remove-voter']);
    expect(leader!.received[0]!.request).toMatchObject({ voterId: 3 });
  });

  it('asks once more when leadership moved between DescribeQuorum and the change, and no more than that', async () => {
    const [follower, first, second] = await quorum(1, 2, 3);
    follower!.describe = () => redirect(first!);
    first!.voterChange = () => {
      follower!.describe = () => redirect(second!);
      return { errorCode: 6, errorMessage: null };
    };
    await addController(clientOf(follower!), NODE_4);
    expect([first!.changes, second!.changes]).toEqual([['raft.add-voter'], ['raft.add-voter']]);

    second!.voterChange = () => ({ errorCode: 6, errorMessage: 'not the leader' });
    follower!.describe = () => redirect(second!);
    await expect(addController(clientOf(follower!), NODE_4))
      .rejects.toThrow('AddRaftVoter of node 4: NOT_LEADER_OR_FOLLOWER (not the leader; sent again after NOT_LEADER_OR_FOLLOWER, so the first attempt may have taken effect)');
    expect(second!.changes).toHaveLength(3);
  });

  it('reports a refusal with Kafka\'s error name and the leader\'s message', async () => {
    const [leader] = await quorum(1);
    leader!.voterChange = () => ({ errorCode: 126, errorMessage: 'node 4 is already a voter' });
    await expect(addController(clientOf(leader!), NODE_4)).rejects.toThrow('AddRaftVoter of node 4: DUPLICATE_VOTER (node 4 is already a voter)');
    leader!.voterChange = () => ({ errorCode: 127, errorMessage: null });
    await expect(removeController(clientOf(leader!), 9, new Uint8Array(16))).rejects.toThrow(/^RemoveRaftVoter of node 9: VOTER_NOT_FOUND$/);
  });

  it('fails when no leader is known', async () => {
    const [lonely] = await quorum(1);
    lonely!.describe = () => ({ errorCode: 6, leaderId: -1, leaderEpoch: 3, highWatermark: -1, voters: [], observers: [] });
    await expect(addController(clientOf(lonely!), NODE_4)).rejects.toThrow(/no quorum leader known: NOT_LEADER_OR_FOLLOWER/);
    expect(lonely!.changes).toEqual([]);
  });
});
