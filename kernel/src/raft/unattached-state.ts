/**
 * Knows the epoch but no leader in it: after a restart, after seeing a higher epoch in a
 * request, or after a leader resigned. Waits one randomized election timeout for a leader
 * to announce itself before starting a pre-vote. A node outside the voter set instead asks
 * a voter for the leader (a Fetch) each time the deadline passes.
 */
export class UnattachedState {
  readonly name = 'unattached' as const;
  constructor(public electionDeadlineMs: number) {}
}
