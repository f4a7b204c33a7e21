/** Every API the Kafka frontend serves; ApiVersions is built from this list. */
import type { ApiHandler } from './api.js';
import { produceApi } from './00-produce.js';
import { fetchApi } from './01-fetch.js';
import { listOffsetsApi } from './02-list-offsets.js';
import { metadataApi } from './03-metadata.js';
import { offsetCommitApi } from './08-offset-commit.js';
import { offsetFetchApi } from './09-offset-fetch.js';
import { findCoordinatorApi } from './10-find-coordinator.js';
import { joinGroupApi } from './11-join-group.js';
import { heartbeatApi } from './12-heartbeat.js';
import { leaveGroupApi } from './13-leave-group.js';
import { syncGroupApi } from './14-sync-group.js';
import { describeGroupsApi } from './15-describe-groups.js';
import { listGroupsApi } from './16-list-groups.js';
import { apiVersionsApi } from './18-api-versions.js';
import { createTopicsApi } from './19-create-topics.js';
import { deleteTopicsApi } from './20-delete-topics.js';
import { deleteRecordsApi } from './21-delete-records.js';
import { initProducerIdApi } from './22-init-producer-id.js';
import { offsetForLeaderEpochApi } from './23-offset-for-leader-epoch.js';
import { addPartitionsToTxnApi } from './24-add-partitions-to-txn.js';
import { addOffsetsToTxnApi } from './25-add-offsets-to-txn.js';
import { endTxnApi } from './26-end-txn.js';
import { writeTxnMarkersApi } from './27-write-txn-markers.js';
import { txnOffsetCommitApi } from './28-txn-offset-commit.js';
import { describeConfigsApi } from './32-describe-configs.js';
import { alterConfigsApi } from './33-alter-configs.js';
import { describeLogDirsApi } from './35-describe-log-dirs.js';
import { createPartitionsApi } from './37-create-partitions.js';
import { deleteGroupsApi } from './42-delete-groups.js';
import { electLeadersApi } from './43-elect-leaders.js';
import { incrementalAlterConfigsApi } from './44-incremental-alter-configs.js';
import { alterPartitionReassignmentsApi } from './45-alter-partition-reassignments.js';
import { listPartitionReassignmentsApi } from './46-list-partition-reassignments.js';
import { offsetDeleteApi } from './47-offset-delete.js';
import { voteApi } from './52-vote.js';
import { beginQuorumEpochApi } from './53-begin-quorum-epoch.js';
import { endQuorumEpochApi } from './54-end-quorum-epoch.js';
import { describeQuorumApi } from './55-describe-quorum.js';
import { alterPartitionApi } from './56-alter-partition.js';
import { fetchSnapshotApi } from './59-fetch-snapshot.js';
import { describeClusterApi } from './60-describe-cluster.js';
import { describeProducersApi } from './61-describe-producers.js';
import { brokerRegistrationApi } from './62-broker-registration.js';
import { brokerHeartbeatApi } from './63-broker-heartbeat.js';
import { describeTransactionsApi } from './65-describe-transactions.js';
import { listTransactionsApi } from './66-list-transactions.js';
import { allocateProducerIdsApi } from './67-allocate-producer-ids.js';
import { consumerGroupHeartbeatApi } from './68-consumer-group-heartbeat.js';
import { consumerGroupDescribeApi } from './69-consumer-group-describe.js';
import { addRaftVoterApi } from './80-add-raft-voter.js';
import { removeRaftVoterApi } from './81-remove-raft-voter.js';

const served: ApiHandler[] = [
  produceApi as ApiHandler,
  fetchApi as ApiHandler,
  listOffsetsApi as ApiHandler,
  metadataApi as ApiHandler,
  offsetCommitApi as ApiHandler,
  offsetFetchApi as ApiHandler,
  findCoordinatorApi as ApiHandler,
  joinGroupApi as ApiHandler,
  heartbeatApi as ApiHandler,
  leaveGroupApi as ApiHandler,
  syncGroupApi as ApiHandler,
  describeGroupsApi as ApiHandler,
  listGroupsApi as ApiHandler,
  createTopicsApi as ApiHandler,
  deleteTopicsApi as ApiHandler,
  deleteRecordsApi as ApiHandler,
  initProducerIdApi as ApiHandler,
  offsetForLeaderEpochApi as ApiHandler,
  addPartitionsToTxnApi as ApiHandler,
  addOffsetsToTxnApi as ApiHandler,
  endTxnApi as ApiHandler,
  writeTxnMarkersApi as ApiHandler,
  txnOffsetCommitApi as ApiHandler,
  describeConfigsApi as ApiHandler,
  alterConfigsApi as ApiHandler,
  describeLogDirsApi as ApiHandler,
  createPartitionsApi as ApiHandler,
  deleteGroupsApi as ApiHandler,
  electLeadersApi as ApiHandler,
  incrementalAlterConfigsApi as ApiHandler,
  alterPartitionReassignmentsApi as ApiHandler,
  listPartitionReassignmentsApi as ApiHandler,
  offsetDeleteApi as ApiHandler,
  voteApi as ApiHandler,
  beginQuorumEpochApi as ApiHandler,
  endQuorumEpochApi as ApiHandler,
  describeQuorumApi as ApiHandler,
  alterPartitionApi as ApiHandler,
  fetchSnapshotApi as ApiHandler,
  describeClusterApi as ApiHandler,
  describeProducersApi as ApiHandler,
  brokerRegistrationApi as ApiHandler,
  brokerHeartbeatApi as ApiHandler,
  describeTransactionsApi as ApiHandler,
  listTransactionsApi as ApiHandler,
  allocateProducerIdsApi as ApiHandler,
  consumerGroupHeartbeatApi as ApiHandler,
  consumerGroupDescribeApi as ApiHandler,
  addRaftVoterApi as ApiHandler,
  removeRaftVoterApi as ApiHandler,
];

export const allApis: readonly ApiHandler[] = [...served, apiVersionsApi(served) as ApiHandler];
