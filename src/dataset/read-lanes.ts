// The DuckDB sessions a handle's reads run on, apart from its writer's. A DuckDB connection runs
// one statement at a time and each holds its own temp view `dataset`, so each read takes a lane
// (a session and what its view shows) for its whole run: up to `lanesMax` reads run at once and
// never wait on each other or on the writer's lock; a read past that waits for a free lane.
// A lane is opened (and its session made ready) beside the reads, never on one read's path: a
// read that finds every lane busy starts one more and takes whichever comes first, a lane
// another read frees or the new one. Opening one cost 0.3-1.3 s while 7 others opened and the
// open lanes served (bench/hybrid.ts at 100k, 8 clients, load 12-15: the search's temp macros
// and functions, one DuckDB round trip each behind the running queries), and that wait was the
// p99 of the first 8-client run: 1,274 ms against a p50 of 42 ms.
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

/** What a lane pool has done: how many lanes it opened and how many reads waited for one. */
export interface LaneStats {
  /** Lanes opened (each a session made ready). */
  opened: number;
  /** Reads that found no idle lane and waited for one (freed or newly opened). */
  waited: number;
}

interface Waiter {
  resolve: (lane: Lane) => void;
  reject: (e: unknown) => void;
}

export class ReadLanes {
  readonly #idle: Lane[] = [];
  readonly #waiting: Waiter[] = [];
  #opened = 0;
  /** Lanes being opened. */
  readonly #opening = new Set<Promise<unknown>>();
  #closing = false;
  readonly #stats: LaneStats = { opened: 0, waited: 0 };

  /**
   * @param open opens one more session, ready to serve (lazily, when every lane is busy and fewer than `lanesMax` exist)
   * @param lanesMax reads that run at once; default READ_LANES_MAX
   */
  constructor(
    private readonly open: () => Promise<Session>,
    readonly lanesMax = READ_LANES_MAX,
  ) {}

  get stats(): Readonly<LaneStats> {
    return { ...this.#stats };
  }

  /** Runs `fn` on a lane of its own. */
  async run<T>(fn: (lane: Lane) => Promise<T>): Promise<T> {
    const lane = await this.#acquire();
    try {
      return await fn(lane);
    } finally {
      this.#release(lane);
    }
  }

  #acquire(): Promise<Lane> {
    if (this.#closing) return Promise.reject(new QuiverError('closed', 'dataset: the handle is closed'));
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    this.#stats.waited++;
    const waiter = new Promise<Lane>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    // One lane opening per waiting read at most: a read freed meanwhile leaves the new lane idle.
    if (this.#opened < this.lanesMax && this.#opening.size < this.#waiting.length) this.#openOne(this.#waiting.at(-1)!);
    return waiter;
  }

  /** Opens a lane beside the reads; it serves the oldest waiting read then, or waits idle. */
  #openOne(forWaiter: Waiter): void {
    this.#opened++;
    const opening: Promise<unknown> = (async () => this.open())().then(
      (session) => {
        this.#opening.delete(opening);
        this.#stats.opened++;
        this.#release({ session, viewKey: undefined });
      },
      (e: unknown) => {
        this.#opening.delete(opening);
        this.#opened--;
        // The read it was opened for fails, unless another lane served it meanwhile.
        const at = this.#waiting.indexOf(forWaiter);
        if (at >= 0) {
          this.#waiting.splice(at, 1);
          forWaiter.reject(e);
        }
      },
    );
    this.#opening.add(opening);
  }

  #release(lane: Lane): void {
    const next = this.#waiting.shift();
    if (next) next.resolve(lane);
    else this.#idle.push(lane);
  }

  /** Refuses new reads, waits for the running ones (and lanes being opened), and closes every session. */
  async close(): Promise<void> {
    this.#closing = true;
    // No lane starts opening now (reads are refused); the ones under way land, or fail and are not counted.
    await Promise.all([...this.#opening]);
    const lanes: Lane[] = [];
    while (lanes.length < this.#opened) lanes.push(this.#idle.pop() ?? (await new Promise<Lane>((resolve, reject) => this.#waiting.push({ resolve, reject }))));
    for (const lane of lanes) lane.session.close();
    this.#opened = 0;
  }
}
