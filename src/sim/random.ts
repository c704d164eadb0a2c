/** Deterministic randomness: every value the simulator makes up comes from a seed. */

/** Mixes integers into one 32-bit seed (murmur3 finalizer per part), so derived streams stay independent. */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    let k = Math.imul(part | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: small, fast and good enough for test data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface WeightTable {
  keys: string[];
  weights: number[];
  total: number;
}

// Weight objects are usually module constants: flatten each once.
const tables = new WeakMap<object, WeightTable>();

function weightTable(weights: Readonly<Record<string, number>>): WeightTable {
  let table = tables.get(weights);
  if (!table) {
    const keys = Object.keys(weights);
    const values = keys.map((k) => weights[k] ?? 0);
    table = { keys, weights: values, total: values.reduce((sum, w) => sum + w, 0) };
    tables.set(weights, table);
  }
  return table;
}

export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.#next();
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (max <= min) return min;
    return min + Math.floor(this.#next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return probability > 0 && this.#next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(this.#next() * items.length)] as T;
  }

  /** Picks a key with probability proportional to its weight. */
  weighted<T extends string>(weights: Readonly<Record<T, number>>): T {
    const table = weightTable(weights);
    let roll = this.#next() * table.total;
    for (let i = 0; i < table.keys.length; i++) {
      roll -= table.weights[i] as number;
      if (roll < 0) return table.keys[i] as T;
    }
    return table.keys[table.keys.length - 1] as T;
  }

  /** A count whose expected value is `rate`: 2.3 gives 2, or 3 with probability 0.3. */
  count(rate: number): number {
    if (rate <= 0) return 0;
    const whole = Math.floor(rate);
    return whole + (this.chance(rate - whole) ? 1 : 0);
  }

  /** A random (version 4 shaped) UUID. */
  uuid(): string {
    let hex = "";
    for (let i = 0; i < 4; i++)
      hex += Math.floor(this.#next() * 4294967296)
        .toString(16)
        .padStart(8, "0");
    const variant = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  hex(length: number): string {
    let out = "";
    while (out.length < length)
      out += Math.floor(this.#next() * 4294967296)
        .toString(16)
        .padStart(8, "0");
    return out.slice(0, length);
  }
}
