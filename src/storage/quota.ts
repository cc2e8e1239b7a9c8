/**
 * The disk quota for bodies: bytes held plus bytes reserved by uploads still
 * streaming. An upload reserves as its bytes arrive, so two large uploads
 * cannot both pass a check made before either started.
 */
import { CdnError } from '../errors.js';

export interface Reservation {
  /** throws CDN_ERR_STORAGE_QUOTA when `bytes` more would pass the quota */
  reserve(bytes: number): void;
  /** gives back what this reservation holds (call once the body is stored or abandoned) */
  release(): void;
}

export class QuotaTracker {
  private held = 0;
  private reserved = 0;

  constructor(readonly quotaBytes: number) {}

  /** bytes of bodies held */
  get used(): number {
    return this.held;
  }

  /** bytes still allowed: the quota less what is held and reserved */
  get free(): number {
    return Math.max(0, this.quotaBytes - this.held - this.reserved);
  }

  add(bytes: number): void {
    this.held += bytes;
  }

  remove(bytes: number): void {
    this.held -= bytes;
  }

  reservation(): Reservation {
    let mine = 0;
    return {
      reserve: (bytes) => {
        if (this.held + this.reserved + bytes > this.quotaBytes) {
          throw new CdnError('CDN_ERR_STORAGE_QUOTA', `storing this body would exceed the disk quota of ${this.quotaBytes} bytes`);
        }
        this.reserved += bytes;
        mine += bytes;
      },
      release: () => {
        this.reserved -= mine;
        mine = 0;
      },
    };
  }
}
