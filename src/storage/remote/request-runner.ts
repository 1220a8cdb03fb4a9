// Runs one remote store's requests: at most `requestsInFlightMax` at once, each attempt with a
// timeout, transient failures (throttling, 5xx, network, timeouts) retried with full-jitter
// exponential backoff. Only idempotent requests go through `idempotent`; a conditional put must
// not be blindly retried (see conditional-put.ts).

import type { ResolvedRemoteOptions } from './remote-options.js';

/** What a store's error classifier says about a failed attempt. */
export type FailureKind = 'transient' | 'final';

export class RequestRunner {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly o: ResolvedRemoteOptions,
    private readonly classify: (e: unknown) => FailureKind,
  ) {}

  isTransient(e: unknown): boolean {
    return this.classify(e) === 'transient';
  }

  /** One attempt: waits for a slot, gives the request an abort signal that fires at the timeout. */
  async once<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn(AbortSignal.timeout(this.o.requestTimeoutMs));
    } finally {
      this.release();
    }
  }

  /** An idempotent request: retried on transient failures, up to `retriesMax` times. */
  idempotent<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.retrying(() => this.once(fn));
  }

  /**
   * Retries an idempotent operation made of several requests, each taking its own slot through
   * `once` (never wrap `once` calls in a slot: a full store would wait on itself).
   */
  async retrying<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        if (attempt >= this.o.retriesMax || !this.isTransient(e)) throw e;
        await this.backoff(attempt);
      }
    }
  }

  /** Full jitter: a uniformly random wait below the doubled bound spreads out retrying writers. */
  backoff(attempt: number): Promise<void> {
    const boundMs = Math.min(this.o.retryDelayMsMax, this.o.retryBaseMs * 2 ** attempt);
    return new Promise((r) => setTimeout(r, Math.random() * boundMs));
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.o.requestsInFlightMax) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.inFlight--;
  }
}

/** Node and fetch network failures that say nothing reached (or came back from) the server. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'REQUEST_SEND_ERROR']);

/** The network error code somewhere in `e`'s cause chain, if any. */
export function networkCode(e: unknown): string | undefined {
  for (let x = e as { code?: string; cause?: unknown } | undefined, depth = 0; x && depth < 4; x = x.cause as typeof x, depth++) {
    if (x.code && NETWORK_CODES.has(x.code)) return x.code;
  }
  return undefined;
}

/** A timeout: our abort signal fired (some SDKs also name a reset socket TimeoutError, but it carries a code). */
export function isTimeout(e: unknown): boolean {
  if (networkCode(e)) return false;
  for (let x = e as { name?: string; cause?: unknown } | undefined, depth = 0; x && depth < 4; x = x.cause as typeof x, depth++) {
    if (x.name === 'TimeoutError' || x.name === 'AbortError') return true;
  }
  return false;
}

export function isNetworkError(e: unknown): boolean {
  return networkCode(e) !== undefined || isTimeout(e);
}
