/**
 * client-node 1.4 informers stop for good on any error other than 410 and have no client-side
 * watch timeout. The supervisor restarts them with jittered exponential backoff, re-lists
 * periodically (a fresh list also ends a watch that hangs without an error), and records the time
 * of the last event so a metric can show a stalled watch.
 */
import {
  ADD,
  ERROR,
  UPDATE,
  DELETE,
  makeInformer,
  type KubeConfig,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from './client.ts';

export interface SupervisorOptions {
  name: string;
  path: string;
  labelSelector?: string;
  resyncMs: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  onEvent(obj: KubeObject, verb: 'add' | 'update' | 'delete'): void;
  onRestart?(reason: string): void;
  log: Logger;
}

/** Full jitter: a random delay in [0, min(max, base * 2^attempt)], never below 100 ms. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.max(100, Math.floor(random() * cap));
}

export class SupervisedInformer {
  private informer?: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private generation = 0;
  private attempt = 0;
  private timers = new Set<NodeJS.Timeout>();
  private stopped = true;
  lastEventAt = Date.now();
  restarts = 0;
  synced = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly client: KubeClient,
    private readonly opts: SupervisorOptions,
  ) {}

  /** Objects in the cache of the running informer. */
  list(namespace?: string): KubeObject[] {
    return (this.informer?.list(namespace) ?? []) as KubeObject[];
  }

  get(name: string, namespace?: string): KubeObject | undefined {
    return this.informer?.get(name, namespace) as KubeObject | undefined;
  }

  start(): void {
    this.stopped = false;
    this.launch('start');
    const resync = setInterval(() => this.restart('periodic re-list'), this.opts.resyncMs);
    resync.unref();
    this.timers.add(resync);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    void this.informer?.stop();
    this.informer = undefined;
  }

  private launch(reason: string): void {
    const gen = ++this.generation;
    const { path, labelSelector } = this.opts;
    const query = labelSelector ? `labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const listFn = async () => {
      const list = await this.client.list(path, query);
      return list as never;
    };
    const inf = makeInformer(this.kc, path, listFn, labelSelector);
    const current = () => gen === this.generation && !this.stopped;
    const handler = (verb: 'add' | 'update' | 'delete') => (obj: KubernetesObject) => {
      if (!current()) return;
      this.lastEventAt = Date.now();
      this.attempt = 0;
      this.opts.onEvent(obj as KubeObject, verb);
    };
    inf.on(ADD, handler('add'));
    inf.on(UPDATE, handler('update'));
    inf.on(DELETE, handler('delete'));
    inf.on(ERROR, (err: unknown) => {
      if (current()) this.scheduleRestart(`watch error: ${(err as Error)?.message ?? String(err)}`);
    });
    const previous = this.informer;
    this.informer = inf;
    this.opts.log.debug({ informer: this.opts.name, reason }, 'informer starting');
    inf.start().then(
      () => {
        if (!current()) return;
        this.synced = true;
        this.lastEventAt = Date.now();
        // The old cache stays readable until the new list has landed.
        void previous?.stop();
      },
      (err: unknown) => {
        void previous?.stop();
        if (current()) this.scheduleRestart(`start failed: ${(err as Error)?.message ?? String(err)}`);
      },
    );
  }

  private restart(reason: string): void {
    if (this.stopped) return;
    this.restarts++;
    this.opts.onRestart?.(reason);
    this.opts.log.info({ informer: this.opts.name, reason }, 'informer restarting');
    this.launch(reason);
  }

  private scheduleRestart(reason: string): void {
    const delay = backoffDelay(this.attempt++, this.opts.backoffBaseMs ?? 500, this.opts.backoffMaxMs ?? 30_000);
    this.opts.log.warn(
      { informer: this.opts.name, reason, delayMs: delay },
      'informer failed; restarting after backoff',
    );
    const gen = ++this.generation; // silences the failed informer
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (gen === this.generation) this.restart(reason);
    }, delay);
    this.timers.add(t);
  }
}
