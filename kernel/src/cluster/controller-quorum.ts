/**
 * What the controller and the broker lifecycle need of the metadata quorum: the narrow
 * part of `MetadataQuorum` (metadata-quorum.ts), so they can be driven by an in-memory
 * quorum in tests.
 */
import type { MetadataImage } from '../metadata/metadata-image.js';
import type { MetadataRecord } from '../metadata/records.js';

export interface ControllerQuorum {
  /** The committed image; changes only through committed records. */
  readonly image: MetadataImage;
  /**
   * Appends the records as one entry; resolves once committed and applied to `image`.
   * Rejects with NOT_CONTROLLER (41) when this node is not (or stops being) the active controller.
   */
  commit(records: readonly MetadataRecord[]): Promise<void>;
  isActiveController(): boolean;
  /** -1 when no leader is known. */
  activeControllerId(): number;
  /** The committed metadata offset (exclusive end), as brokers report it in heartbeats. */
  highWatermark(): number;
  /**
   * Every committed entry in log order, including those replayed at start. `endOffset` is
   * the entry's offset + 1: the high watermark once it is committed, so a broker whose
   * heartbeat reports (as currentMetadataOffset, its high watermark) at least `endOffset`
   * has applied it.
   */
  onCommitted(listener: (records: readonly MetadataRecord[], endOffset: number) => void): () => void;
  onLeadershipChange(listener: (active: boolean, epoch: number) => void): () => void;
}
