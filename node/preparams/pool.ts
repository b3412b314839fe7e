/**
 * A node's pool of GG18 pre-params (Paillier key + ring-Pedersen parameters), kept at `target`
 * items by a background worker thread so that keygen does not wait for safe primes. The pool is
 * persisted through `store`, which the runtime backs with the node's encrypted store (the items
 * are secret). `take()` returns a ready item or waits for the worker's next one.
 *
 * A persisted item is handed out only after the store has durably dropped it: were the removal
 * saved afterwards, a crash in between would hand the same Paillier key to a second keygen.
 */
import { Worker } from 'node:worker_threads';
import { decodePreParams, validatePreParams, type PreParams } from '../../common/protocols/gg18/preparams.ts';

/** Persistence of the encoded items; implementations encrypt at rest. */
export interface PreParamsStore {
  load(): Promise<Uint8Array[]>;
  save(items: Uint8Array[]): Promise<void>;
}

export interface PreParamsPoolOptions {
  /** Items to keep ready (default 2). */
  readonly target?: number;
  readonly store?: PreParamsStore;
  /** Where failed saves are reported (the pool keeps working from memory). */
  readonly onSaveError?: (error: unknown) => void;
}

export class PreParamsPool {
  private readonly items: Uint8Array[] = [];
  private readonly waiters: ((item: Uint8Array) => void)[] = [];
  private readonly failures: ((error: Error) => void)[] = [];
  private worker: Worker | undefined;
  private generating = false;
  private saving: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly target: number,
    private readonly store: PreParamsStore | undefined,
    private readonly onSaveError: (error: unknown) => void,
  ) {}

  /** Loads persisted items (dropping any that fail validation) and starts filling. */
  static async open(options: PreParamsPoolOptions = {}): Promise<PreParamsPool> {
    const pool = new PreParamsPool(options.target ?? 2, options.store, options.onSaveError ?? (() => {}));
    const loaded = options.store ? await options.store.load() : [];
    let dropped = false;
    for (const item of loaded) {
      if (isValid(item)) pool.items.push(item);
      else dropped = true;
    }
    if (dropped) pool.persist().catch(pool.onSaveError);
    pool.refill();
    return pool;
  }

  /** Ready items. */
  get size(): number {
    return this.items.length;
  }

  /**
   * A ready item, or the next one the worker generates. A persisted item is removed from the store
   * before it is returned; when that save fails the item is discarded, never handed out.
   */
  async take(): Promise<PreParams> {
    const ready = this.items.shift();
    if (ready) {
      this.refill();
      try {
        await this.persist();
      } catch (error) {
        ready.fill(0);
        throw new Error('could not persist the removal of a GG18 pre-params item', { cause: error });
      }
      return consume(ready);
    }
    if (this.closed) throw new Error('pre-params pool is closed');
    // A fresh item goes straight from the worker to this waiter: it was never persisted.
    const item = new Promise<Uint8Array>((resolve, reject) => {
      this.waiters.push(resolve);
      this.failures.push(reject);
    });
    this.refill();
    return consume(await item);
  }

  /** Stops the worker and waits for pending saves. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    for (const fail of this.failures.splice(0)) fail(new Error('pre-params pool is closed'));
    this.waiters.length = 0;
    await this.saving;
  }

  private refill(): void {
    if (this.closed || this.generating) return;
    if (this.items.length >= this.target && this.waiters.length === 0) return;
    this.generating = true;
    this.ensureWorker().postMessage('generate');
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = import.meta.url.endsWith('.js')
      ? new Worker(new URL('./worker.js', import.meta.url)) // the compiled build
      : sourceWorker();
    worker.unref();
    worker.on('message', (bytes: Uint8Array) => this.onGenerated(new Uint8Array(bytes)));
    worker.on('error', (error) => {
      this.generating = false;
      this.worker = undefined;
      for (const fail of this.failures.splice(0)) fail(error);
      this.waiters.length = 0;
    });
    this.worker = worker;
    return worker;
  }

  private onGenerated(item: Uint8Array): void {
    this.generating = false;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.failures.shift();
      waiter(item);
    } else {
      this.items.push(item);
      this.persist().catch(this.onSaveError);
    }
    this.refill();
  }

  /**
   * Saves a snapshot; saves are serialised so that the last state wins. The returned promise
   * settles when this snapshot is stored (or failed to be).
   */
  private persist(): Promise<void> {
    const store = this.store;
    if (!store) return Promise.resolve();
    const snapshot = this.items.map((i) => Uint8Array.from(i));
    const saved = this.saving.then(() => store.save(snapshot)).finally(() => snapshot.forEach((s) => s.fill(0)));
    this.saving = saved.catch(() => {});
    return saved;
  }
}

/**
 * Running from TypeScript sources: register tsx's loader inside the worker explicitly, since
 * loader hooks inherited through --import do not reliably apply to worker threads on Node 20.
 */
function sourceWorker(): Worker {
  const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); });`, {
    eval: true,
  });
}

function isValid(item: Uint8Array): boolean {
  try {
    return validatePreParams(decodePreParams(item));
  } catch {
    return false;
  }
}

/** Decodes an item and wipes its encoding: it is this pool's copy of secret material. */
function consume(item: Uint8Array): PreParams {
  try {
    return decodePreParams(item);
  } finally {
    item.fill(0);
  }
}
