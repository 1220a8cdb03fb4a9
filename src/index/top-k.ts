// A bounded best-first list of (ordinal, score) shared by the vector and full-text kernels.
// Invariant: entries are ordered best first, ties broken by the lower ordinal, each ordinal held
// at most once (a later, better offer for the same ordinal replaces it: max-sim rows).

export class TopK {
  readonly k: number;
  private readonly higher: boolean;
  private readonly ords: Uint32Array;
  private readonly vals: Float64Array;
  size = 0;

  /** `higherIsBetter`: whether a larger score ranks first. */
  constructor(k: number, higherIsBetter: boolean) {
    this.k = k;
    this.higher = higherIsBetter;
    this.ords = new Uint32Array(k);
    this.vals = new Float64Array(k);
  }

  private better(s: number, o: number, i: number): boolean {
    const v = this.vals[i];
    if (s !== v) return this.higher ? s > v : s < v;
    return o < this.ords[i];
  }

  /** The score an entry must beat once full; undefined while not full. */
  worst(): number | undefined {
    return this.size < this.k ? undefined : this.vals[this.k - 1];
  }

  /** Offers (ordinal, score). Insertion into at most k entries: k is small (≤ a few hundred). */
  push(o: number, s: number): void {
    // Cheap rejection first: most offers of a long scan lose to the current k-th entry.
    if (this.size === this.k && !this.better(s, o, this.k - 1)) return;
    for (let h = 0; h < this.size; h++) {
      if (this.ords[h] !== o) continue;
      if (!this.better(s, o, h)) return;
      this.ords.copyWithin(h, h + 1, this.size);
      this.vals.copyWithin(h, h + 1, this.size);
      this.size--;
      break;
    }
    let i = this.size;
    if (i === this.k) {
      if (!this.better(s, o, i - 1)) return;
      i--;
    } else {
      this.size++;
    }
    while (i > 0 && this.better(s, o, i - 1)) {
      this.ords[i] = this.ords[i - 1];
      this.vals[i] = this.vals[i - 1];
      i--;
    }
    this.ords[i] = o;
    this.vals[i] = s;
  }

  ordinals(): Uint32Array {
    return this.ords.slice(0, this.size);
  }

  scores(): Float64Array {
    return this.vals.slice(0, this.size);
  }
}
