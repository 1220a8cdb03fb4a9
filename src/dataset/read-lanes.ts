// The DuckDB sessions a handle's reads run on, apart from its writer's. A DuckDB connection runs
// one statement at a time and each holds its own temp view `dataset`, so each read takes a lane
// (a session and what its view shows) for its whole run: up to `lanesMax` reads run at once and
// never wait on each other or on the writer's lock; a read past that waits for a free lane.
// Invariant: a lane serves one read at a time; close() waits for every running read first.

import { QuiverError } from '../errors.js';
import type { Session } from '../query/index.js';

/** Reads one handle runs at once by default (the 8 concurrent queries on one handle). */
export const READ_LANES_MAX = 8;

/** A session a read runs on, and the version and columns its `dataset` view shows (undefined: unknown). */
export interface Lane {
  readonly session: Session;
  viewKey: string | undefined;
}

export class ReadLanes {
  readonly #idle: Lane[] = [];
  readonly #waiting: ((lane: Lane) => void)[] = [];
  #opened = 0;
  #closing = false;

  /**
   * @param open opens one more session (lazily, when every lane is busy and fewer than `lanesMax` exist)
   * @param lanesMax reads that run at once; default READ_LANES_MAX
   */
  constructor(
    private readonly open: () => Promise<Session>,
    readonly lanesMax = READ_LANES_MAX,
  ) {}

  /** Runs `fn` on a lane of its own. */
  async run<T>(fn: (lane: Lane) => Promise<T>): Promise<T> {
    const lane = await this.#acquire();
    try {
      return await fn(lane);
    } finally {
      this.#release(lane);
    }
  }

  async #acquire(): Promise<Lane> {
    if (this.#closing) throw new QuiverError('closed', 'dataset: the handle is closed');
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#opened < this.lanesMax) {
      this.#opened++;
      try {
        return { session: await this.open(), viewKey: undefined };
      } catch (e) {
        this.#opened--;
        throw e;
      }
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(lane: Lane): void {
    const next = this.#waiting.shift();
    if (next) next(lane);
    else this.#idle.push(lane);
  }

  /** Refuses new reads, waits for the running ones, and closes every session. */
  async close(): Promise<void> {
    this.#closing = true;
    const lanes: Lane[] = [];
    while (lanes.length < this.#opened) lanes.push(this.#idle.pop() ?? (await new Promise<Lane>((resolve) => this.#waiting.push(resolve))));
    for (const lane of lanes) lane.session.close();
    this.#opened = 0;
  }
}
