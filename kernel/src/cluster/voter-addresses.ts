/**
 * Between the voter set as Raft records it (ids, directory ids, named endpoints) and the
 * `PeerAddress`es cluster RPCs go to. `controller.quorum.voters` gives each bootstrap voter
 * one address, recorded under the controller listener's name; a voter added at run time
 * brings its own endpoints (AddRaftVoter's listeners).
 */
import type { PeerAddress } from '@sluice/sdk';
import { VoterSet, ZERO_DIRECTORY_ID, type Voter } from '../raft/voter-set.js';

/** Kafka's default `controller.listener.names`. */
export const DEFAULT_CONTROLLER_LISTENER = 'CONTROLLER';

export function voterSetOfPeers(peers: readonly PeerAddress[], listenerName: string): VoterSet {
  return new VoterSet(peers.map((p) => ({
    id: p.nodeId, directoryId: ZERO_DIRECTORY_ID, endpoints: [{ name: listenerName, host: p.host, port: p.port }],
  })));
}

/** Where a voter is reached: its endpoint on `listenerName`, else its first; undefined without endpoints. */
export function peerOfVoter(voter: Voter, listenerName: string): PeerAddress | undefined {
  const endpoint = voter.endpoints.find((e) => e.name === listenerName) ?? voter.endpoints[0];
  return endpoint === undefined ? undefined : { nodeId: voter.id, host: endpoint.host, port: endpoint.port };
}
