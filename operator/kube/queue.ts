/** A keyed work queue: one reconcile per key at a time, deduplicated, retried with backoff. */
import { backoffDelay } from './informer.ts';

export interface Result {
  requeueAfterMs?: number;
}

export class WorkQueue {
  private pending = new Set<string>();
  private running = new Set<string>();
  private dirty = new Set<string>();
  private failures = new Map<string, number>();
  private timers = new Map<string, NodeJS.Timeout>();
  private active = false;

  constructor(
    private readonly work: (key: string) => Promise<Result | void>,
    private readonly onError: (key: string, err: unknown) => void,
    private readonly backoff = { baseMs: 500, maxMs: 60_000 },
  ) {}

  start(): void {
    this.active = true;
    for (const key of [...this.pending]) void this.run(key);
  }

  stop(): void {
    this.active = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  add(key: string): void {
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.pending.add(key);
    if (this.active) void this.run(key);
  }

  addAfter(key: string, ms: number): void {
    clearTimeout(this.timers.get(key));
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  /** Resolves once nothing is queued or running (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size || this.running.size) await new Promise((r) => setTimeout(r, 20));
  }

  private async run(key: string): Promise<void> {
    if (this.running.has(key) || !this.pending.has(key)) return;
    this.pending.delete(key);
    this.running.add(key);
    try {
      const r = await this.work(key);
      this.failures.delete(key);
      if (r?.requeueAfterMs !== undefined) this.addAfter(key, r.requeueAfterMs);
    } catch (err) {
      const n = this.failures.get(key) ?? 0;
      this.failures.set(key, n + 1);
      this.onError(key, err);
      this.addAfter(key, backoffDelay(n, this.backoff.baseMs, this.backoff.maxMs));
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
    }
  }
}
