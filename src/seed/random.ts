/**
 * A tiny seeded pseudo-random generator for demo data and synthetic audio.
 *
 * Math.random cannot be seeded, and the demo seed must be reproducible: the
 * same seed yields the same organisations, calls and recordings on every
 * machine. mulberry32 is a 32-bit generator, fast and good enough for data that
 * only has to look plausible — never use it for anything security-related.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    // mulberry32 (Tommy Ettinger), public domain.
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform float in [min, max). */
  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element, uniformly. Throws on an empty array (a seed bug, not a data condition). */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Random.pick: empty array');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One value, with probability proportional to its weight: `weighted([['a', 3], ['b', 1]])`. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of entries) total += weight;
    let r = this.next() * total;
    for (const [value, weight] of entries) {
      r -= weight;
      if (r < 0) return value;
    }
    const last = entries[entries.length - 1];
    if (!last) throw new Error('Random.weighted: no entries');
    return last[0];
  }

  /** Normally distributed (Box–Muller). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next(); // (0, 1]: log(0) would be -Infinity
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median; sigma is the spread of log(value). Good for durations. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(this.normal(0, sigma));
  }

  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** `length` lowercase hex digits, for provider-style ids. */
  hex(length: number): string {
    let out = '';
    while (out.length < length)
      out += Math.floor(this.next() * 0x10000)
        .toString(16)
        .padStart(4, '0');
    return out.slice(0, length);
  }
}

/** A 32-bit seed from a string (FNV-1a), so seeds can be named: `seedFrom('acme')`. */
export function seedFrom(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Weighted sampling over many items (thousands of contacts, 90 days) in
 * O(log n) per draw, optionally restricted to an index range [from, to):
 * cumulative weights plus binary search instead of `weighted`'s linear scan.
 */
export class WeightedIndex {
  private readonly cumulative: Float64Array;

  constructor(weights: readonly number[]) {
    this.cumulative = new Float64Array(weights.length + 1);
    for (let i = 0; i < weights.length; i++) {
      this.cumulative[i + 1] = (this.cumulative[i] ?? 0) + Math.max(0, weights[i] ?? 0);
    }
  }

  /** Total weight of indexes in [from, to). */
  weightOf(from: number, to: number): number {
    return (this.cumulative[to] ?? 0) - (this.cumulative[from] ?? 0);
  }

  /** An index in [from, to) drawn by weight, or -1 when that range weighs nothing. */
  sample(random: Random, from = 0, to = this.cumulative.length - 1): number {
    const base = this.cumulative[from] ?? 0;
    const total = this.weightOf(from, to);
    if (!(total > 0)) return -1;
    const target = base + random.next() * total;
    // Smallest i in [from, to) with cumulative[i + 1] > target.
    let lo = from;
    let hi = to - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid + 1] ?? 0) > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
