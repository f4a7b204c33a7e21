/**
 * The voter set changes on the wire (KIP-853): AddRaftVoter v0 and RemoveRaftVoter v0, sent
 * to the active controller by an operator's tool (`sluice metadata quorum add-controller`),
 * or by another Sluice node through the cluster transport. The answer comes once the new
 * voter set is committed, or refused; its message says why, so an error the receiving
 * kernel throws keeps its message on the way back.
 */
import type { VoterChangeResponse } from '@sluice/sdk';
import { ApiKey, type AddRaftVoterResponse, type Decoded, type RemoveRaftVoterResponse } from '../protocol/index.js';
import type { RpcWire } from './rpc-wire.js';

function answer(res: Decoded<AddRaftVoterResponse> | Decoded<RemoveRaftVoterResponse>): VoterChangeResponse {
  return { errorCode: res.errorCode, errorMessage: res.errorMessage ?? null };
}

function reply(res: VoterChangeResponse): AddRaftVoterResponse & RemoveRaftVoterResponse {
  return { throttleTimeMs: 0, errorCode: res.errorCode, errorMessage: res.errorMessage };
}

const addVoter: RpcWire<'raft.add-voter', typeof ApiKey.AddRaftVoter> = {
  apiKey: ApiKey.AddRaftVoter,
  version: 0,
  requestToWire: (r) => ({
    clusterId: r.clusterId, timeoutMs: r.timeoutMs, voterId: r.voterId, voterDirectoryId: r.voterDirectoryId,
    listeners: r.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
  }),
  responseFromWire: answer,
  requestFromWire: (req) => ({
    clusterId: req.clusterId ?? '', timeoutMs: req.timeoutMs, voterId: req.voterId, voterDirectoryId: req.voterDirectoryId,
    listeners: req.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
  }),
  responseToWire: reply,
  errorToWire: (errorCode, _req, message) => ({ throttleTimeMs: 0, errorCode, errorMessage: message ?? null }),
};

const removeVoter: RpcWire<'raft.remove-voter', typeof ApiKey.RemoveRaftVoter> = {
  apiKey: ApiKey.RemoveRaftVoter,
  version: 0,
  requestToWire: (r) => ({ clusterId: r.clusterId, voterId: r.voterId, voterDirectoryId: r.voterDirectoryId }),
  responseFromWire: answer,
  requestFromWire: (req) => ({ clusterId: req.clusterId ?? '', voterId: req.voterId, voterDirectoryId: req.voterDirectoryId }),
  responseToWire: reply,
  errorToWire: (errorCode, _req, message) => ({ throttleTimeMs: 0, errorCode, errorMessage: message ?? null }),
};

export const voterWires = {
  'raft.add-voter': addVoter,
  'raft.remove-voter': removeVoter,
} as const;
