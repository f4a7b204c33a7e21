/** The cluster id check of the voter change APIs (AddRaftVoter, RemoveRaftVoter). */
const INCONSISTENT_CLUSTER_ID = 104;

/** The error to answer when the request names another cluster; null when it names none or this one. */
export function clusterIdMismatch(requested: string | null, own: string): { errorCode: number; errorMessage: string } | null {
  if (requested === null || requested === own) return null;
  return { errorCode: INCONSISTENT_CLUSTER_ID, errorMessage: `the request names cluster ${requested}, this is cluster ${own}` };
}
