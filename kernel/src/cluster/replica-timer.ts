/**
 * Timers for replication, injected like the clock: the leader's ISR check, acks=all
 * timeouts, fetch long-polls and fetch backoff all run on it, so the replication
 * simulator drives the real code on virtual time.
 */
export interface ReplicaTimer {
  /** Calls `fire` once after `delayMs`; the returned function cancels it. */
  after(delayMs: number, fire: () => void): () => void;
}

/** Node's timers, unreferenced: a pending replication timer never keeps the process alive. */
export const systemReplicaTimer: ReplicaTimer = {
  after(delayMs, fire) {
    const handle = setTimeout(fire, delayMs);
    handle.unref();
    return () => clearTimeout(handle);
  },
};
