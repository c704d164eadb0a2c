/**
 * Delivery IDs seen recently, so that a redelivered event is answered without effect. Bounded in time (an hour)
 * and in count (the oldest go first), whatever a sender sends.
 */

/** How long a delivery ID is remembered. */
export const DUPLICATE_WINDOW_MS = 60 * 60 * 1000;
/** Most IDs remembered at once: 100k events an hour is far beyond any organization's. */
export const MAX_REMEMBERED_DELIVERIES = 100_000;
/** Longest delivery ID remembered (Pulumi's are UUIDs); a longer one is malformed. */
export const MAX_DELIVERY_ID_LENGTH = 128;

export interface DeliveryIdsOptions {
  /** Epoch ms. */
  readonly now: () => number;
  readonly windowMs?: number;
  readonly capacity?: number;
}

export class DeliveryIds {
  /** Insertion order is time order: the first entries are the oldest. */
  readonly #seen = new Map<string, number>();
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #capacity: number;

  constructor(options: DeliveryIdsOptions) {
    this.#now = options.now;
    this.#windowMs = options.windowMs ?? DUPLICATE_WINDOW_MS;
    this.#capacity = options.capacity ?? MAX_REMEMBERED_DELIVERIES;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Whether `id` was remembered within the window. */
  has(id: string): boolean {
    this.#expire();
    return this.#seen.has(id);
  }

  /** Remembers `id` from now on, forgetting the oldest when full. */
  remember(id: string): void {
    this.#expire();
    this.#seen.delete(id);
    this.#seen.set(id, this.#now());
    while (this.#seen.size > this.#capacity) {
      const oldest = this.#seen.keys().next();
      if (oldest.done === true) break;
      this.#seen.delete(oldest.value);
    }
  }

  #expire(): void {
    const cutoff = this.#now() - this.#windowMs;
    for (const [id, at] of this.#seen) {
      if (at > cutoff) break;
      this.#seen.delete(id);
    }
  }
}
