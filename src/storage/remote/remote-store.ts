// What every remote store (S3, Azure) does the same way, over a few primitives each one supplies:
// keys under the URL's prefix, bounded and retried requests, the once-per-process condition probe
// that gates writes, ambiguous conditional puts re-checked rather than retried, large puts in parts.

import { QuiverError } from '../../errors.js';
import { concatParts, type ByteRange, type ObjectInfo, type ObjectStore, type PutCondition, type PutData, type StoredObject } from '../object-store.js';
import { conditionalPut } from './conditional-put.js';
import { conditionsEnforced, notEnforcedError, probeKey, probeOnce, type ProbeResult } from './condition-probe.js';
import { RequestRunner, type FailureKind } from './request-runner.js';
import { resolveRemoteOptions, type RemoteStoreOptions, type ResolvedRemoteOptions } from './remote-options.js';

/** Objects under this folder of a store's prefix are the probe's own and never listed. */
const PROBE_FOLDER = '.quiver-probe/';

export interface ListPage {
  items: ObjectInfo[];
  next?: string;
}

export abstract class RemoteStore implements ObjectStore {
  abstract readonly url: string;
  /** The endpoint named in messages and keyed by the probe. */
  protected abstract readonly endpoint: string;
  /** The bucket or container, for the probe's key. */
  protected abstract readonly root: string;
  protected readonly o: ResolvedRemoteOptions;
  protected readonly runner: RequestRunner;

  constructor(
    protected readonly prefix: string,
    options: RemoteStoreOptions,
    classify: (e: unknown) => FailureKind,
  ) {
    this.o = resolveRemoteOptions(options);
    this.runner = new RequestRunner(this.o, classify);
  }

  /** The QuiverError for a failed request (`not_found`, `conflict`, credentials, unreachable, …). */
  protected abstract error(op: string, key: string, e: unknown): QuiverError;
  /** The store's answer to a range that starts at or past the end (HTTP 416). */
  protected abstract isRangePastEnd(e: unknown): boolean;
  /** One GET of a whole object (no range) or of a range, with its info. `name` is the full key. */
  protected abstract fetch(name: string, range: ByteRange | undefined, signal: AbortSignal): Promise<StoredObject>;
  protected abstract stat(name: string, signal: AbortSignal): Promise<Omit<ObjectInfo, 'key'>>;
  protected abstract listPage(namePrefix: string, token: string | undefined, signal: AbortSignal): Promise<ListPage>;
  /** One single-request put (taking its own slot), the condition sent as the store's headers. */
  protected abstract putOnce(name: string, bytes: Uint8Array, condition?: PutCondition): Promise<Omit<ObjectInfo, 'key'>>;
  /** A put in parts; the condition rides on the final commit request. */
  protected abstract putParts(name: string, bytes: Uint8Array, condition?: PutCondition): Promise<Omit<ObjectInfo, 'key'>>;
  protected abstract remove(name: string, signal: AbortSignal): Promise<void>;
  /** Whether a conditional put may go in parts here, given the probe's facts; else it goes in one request. */
  protected abstract partsKeepConditions(probe: ProbeResult): boolean;
  /** Extra facts the probe learns on its key, after the basic conditions proved enforced. */
  protected abstract probeFacts(name: string): Promise<Record<string, boolean>>;

  private name(key: string): string {
    return this.prefix + key;
  }

  protected async call<T>(op: string, key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.mapped(op, key, () => this.runner.idempotent(fn));
  }

  /** Runs `fn` and maps whatever it throws to a QuiverError naming this store. */
  protected async mapped<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.error(op, key, e);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (range && range.length <= 0) {
      if (!(await this.head(key))) throw new QuiverError('not_found', `storage: no object "${key}" in ${this.url}`, { key, url: this.url });
      return new Uint8Array(0);
    }
    try {
      return (await this.call('get', key, (signal) => this.fetch(this.name(key), range, signal))).data;
    } catch (e) {
      // A range that starts at or past the end: the object exists and has no bytes there.
      if (range && e instanceof QuiverError && this.isRangePastEnd(e.cause)) return new Uint8Array(0);
      throw e;
    }
  }

  async getWithInfo(key: string): Promise<StoredObject> {
    const o = await this.call('get', key, (signal) => this.fetch(this.name(key), undefined, signal));
    return { data: o.data, info: { ...o.info, key } };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      return { key, ...(await this.call('head', key, (signal) => this.stat(this.name(key), signal))) };
    } catch (e) {
      if (e instanceof QuiverError && e.code === 'not_found') return null;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.call('list', prefix, (signal) => this.listPage(this.name(prefix), token, signal));
      for (const item of page.items) {
        const key = item.key.slice(this.prefix.length);
        if (!key.startsWith(PROBE_FOLDER)) yield { ...item, key };
      }
      token = page.next;
    } while (token);
  }

  async put(key: string, data: PutData, condition?: PutCondition): Promise<ObjectInfo> {
    const probe = await this.writable();
    const bytes = concatParts(data);
    const parts = bytes.length > this.o.multipartThresholdBytes && (!condition || this.partsKeepConditions(probe));
    const name = this.name(key);
    const attempt = async (): Promise<ObjectInfo> => ({ key, ...(await (parts ? this.putParts(name, bytes, condition) : this.putOnce(name, bytes, condition))) });
    // Conditional puts are not idempotent: conditionalPut re-checks the key before another attempt.
    const run = condition ? () => conditionalPut(this.runner, key, bytes, condition, { attempt, readBack: () => this.readBack(key) }, this.o.retriesMax) : () => this.runner.retrying(attempt);
    return this.mapped('put', key, run);
  }

  private readBack(key: string): Promise<StoredObject | null> {
    return this.getWithInfo(key).catch((e) => {
      if (e instanceof QuiverError && e.code === 'not_found') return null;
      throw e;
    });
  }

  async delete(key: string): Promise<void> {
    await this.writable();
    await this.call('delete', key, (signal) => this.remove(this.name(key), signal));
  }

  /** Resolves once writes are allowed here; throws `unsupported` where conditions are not enforced. */
  private async writable(): Promise<ProbeResult> {
    const probe = await probeOnce(`${this.endpoint}|${this.root}`, () => this.probe());
    if (!probe.enforced && !this.o.singleWriter) throw notEnforcedError(this.url, this.endpoint);
    return probe;
  }

  private async probe(): Promise<ProbeResult> {
    const name = probeKey(this.prefix + PROBE_FOLDER);
    const bytes = new Uint8Array([1]);
    try {
      const enforced = await conditionsEnforced((c) => this.mapped('probe', name, () => this.putOnce(name, bytes, c)));
      return { enforced, facts: enforced ? await this.probeFacts(name) : {} };
    } finally {
      await this.runner.once((signal) => this.remove(name, signal)).catch(() => undefined);
    }
  }
}
