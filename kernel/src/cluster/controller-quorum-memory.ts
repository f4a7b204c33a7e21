/**
 * A metadata quorum of one, in memory: commit applies at once. Lets the controller and
 * broker lifecycle be tested, and the lead wire them, without Raft running; leadership
 * can be taken away to exercise NOT_CONTROLLER paths.
 */
import { MetadataImage } from '../metadata/metadata-image.js';
import type { MetadataRecord } from '../metadata/records.js';
import type { ControllerQuorum } from './controller-quorum.js';
import { controllerError } from './controller-errors.js';

export class MemoryControllerQuorum implements ControllerQuorum {
  readonly image = new MetadataImage();
  /** Every committed entry, in order; offset i is entry i. */
  readonly entries: Array<readonly MetadataRecord[]> = [];
  private active: boolean;
  private epoch = 1;
  private readonly committedListeners = new Set<(records: readonly MetadataRecord[], offset: number) => void>();
  private readonly leadershipListeners = new Set<(active: boolean, epoch: number) => void>();

  constructor(readonly nodeId: number, opts: { active?: boolean } = {}) {
    this.active = opts.active ?? true;
  }

  async commit(records: readonly MetadataRecord[]): Promise<void> {
    if (!this.active) throw controllerError('NOT_CONTROLLER', `node ${this.nodeId} is not the active controller`);
    const offset = this.entries.length;
    this.entries.push(records);
    for (const r of records) this.image.apply(r);
    for (const l of this.committedListeners) l(records, offset);
  }

  isActiveController(): boolean {
    return this.active;
  }

  activeControllerId(): number | null {
    return this.active ? this.nodeId : null;
  }

  highWatermark(): number {
    return this.entries.length;
  }

  /** Becomes active (a new epoch) or steps down. */
  setActive(active: boolean): void {
    if (active === this.active) return;
    this.active = active;
    this.epoch++;
    for (const l of this.leadershipListeners) l(active, this.epoch);
  }

  onCommitted(listener: (records: readonly MetadataRecord[], offset: number) => void): void {
    this.committedListeners.add(listener);
  }

  onLeadershipChange(listener: (active: boolean, epoch: number) => void): void {
    this.leadershipListeners.add(listener);
  }
}
