// A request's deadline: work that is not one SQL statement (a diff's rows, versions' row
// counts, a log walk) checks it between steps and ends with `timeout` (504) once it has
// passed, releasing its lease as any failure does. SQL keeps its own bound (statementMs),
// which interrupts inside DuckDB. Invariant: a check never waits; it only compares the clock.

import { QuiverError } from '../errors.js';

/** Default of AppOptions.requestMs: the sandbox's statementMs, so no route outlives a query's bound. */
export const REQUEST_MS_DEFAULT = 10_000;

export class Deadline {
  readonly #at: number;
  readonly #ms: number;
  readonly #clock: () => number;

  constructor(ms: number, clock: () => number = Date.now) {
    this.#clock = clock;
    this.#ms = ms;
    this.#at = clock() + ms;
  }

  /** Throws `timeout` once the deadline has passed (the shape of AbortSignal.throwIfAborted, so handles take either). */
  throwIfAborted(): void {
    if (this.#clock() >= this.#at) throw new QuiverError('timeout', `server: the request ran past its bound of ${this.#ms} ms (requestMs) and was ended`, { requestMs: this.#ms });
  }
}
