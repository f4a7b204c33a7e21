/**
 * What the controller needs of the metadata quorum: the narrow part of `MetadataQuorum`
 * (metadata-quorum.ts satisfies it as is), so an in-memory quorum drives it in tests.
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
  /** null when no leader is known. */
  activeControllerId(): number | null;
  /** The committed metadata offset (exclusive end), as brokers report it in heartbeats. */
  highWatermark(): number;
  /**
   * Every committed entry in log order, with its offset: a broker whose heartbeat reports
   * (as currentMetadataOffset, its high watermark) more than `offset` has applied it.
   * Entries a sole voter replays at open need not be reported.
   */
  onCommitted(listener: (records: readonly MetadataRecord[], offset: number) => void): void;
  onLeadershipChange(listener: (active: boolean, epoch: number) => void): void;
}
