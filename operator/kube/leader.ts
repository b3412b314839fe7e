/** Lease-based leader election (coordination.k8s.io/v1), so two replicas never both act. */
import type { Logger } from 'pino';
import { KubeError, type KubeClient } from './client.ts';

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewEveryMs: number;
  log: Logger;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  now?: () => Date;
}

/** Whether `identity` may take the lease now: free, already ours, or expired. */
export function canAcquire(lease: Lease['spec'], identity: string, now: Date): boolean {
  if (!lease.holderIdentity || lease.holderIdentity === identity) return true;
  const renewed = Date.parse(lease.renewTime ?? lease.acquireTime ?? '');
  if (Number.isNaN(renewed)) return true;
  return renewed + (lease.leaseDurationSeconds ?? 15) * 1000 < now.getTime();
}

export class LeaderElector {
  leading = false;
  /** Tries that found the lease validly held by another replica (standby evidence, also for tests). */
  heldElsewhereSeen = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly o: LeaderOptions,
  ) {}

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${this.o.name}`;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops renewing; a leader gives the lease up so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.leading) {
      this.leading = false;
      this.o.onStoppedLeading();
      const lease = await this.client.get<Lease>(this.path).catch(() => undefined);
      if (lease?.spec.holderIdentity === this.o.identity) {
        lease.spec.holderIdentity = '';
        await this.client.replace(this.path, lease).catch(() => undefined);
      }
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.tryAcquireOrRenew();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'leader election: lease update failed');
      // Failing to renew for a whole lease duration means another replica may take over.
      if (this.leading && Date.now() - this.renewedAt > this.o.leaseDurationSeconds * 1000)
        this.lose('renew deadline passed');
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.renewEveryMs);
  }

  private renewedAt = 0;

  private lose(reason: string): void {
    this.leading = false;
    this.o.log.warn({ reason }, 'leader election: lost the lease');
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = (this.o.now ?? (() => new Date()))();
    const stamp = now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const existing = await this.client.get<Lease>(this.path);
    if (!existing) {
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: {
          holderIdentity: this.o.identity,
          leaseDurationSeconds: this.o.leaseDurationSeconds,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: 0,
        },
      };
      try {
        await this.client.create(`/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`, lease);
      } catch (err) {
        if (err instanceof KubeError && err.status === 409) return; // someone else created it first
        throw err;
      }
      return this.won(now);
    }
    if (!canAcquire(existing.spec, this.o.identity, now)) {
      this.heldElsewhereSeen++;
      if (this.leading) this.lose(`held by ${existing.spec.holderIdentity}`);
      return;
    }
    const mine = existing.spec.holderIdentity === this.o.identity;
    existing.spec = {
      ...existing.spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: this.o.leaseDurationSeconds,
      renewTime: stamp,
      ...(mine ? {} : { acquireTime: stamp, leaseTransitions: (existing.spec.leaseTransitions ?? 0) + 1 }),
    };
    try {
      // The resourceVersion makes this a compare-and-swap: a concurrent writer gets 409.
      await this.client.replace(this.path, existing);
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) return;
      throw err;
    }
    this.won(now);
  }

  private won(now: Date): void {
    this.renewedAt = now.getTime();
    if (this.leading) return;
    this.leading = true;
    this.o.log.info({ identity: this.o.identity }, 'leader election: became leader');
    this.o.onStartedLeading();
  }
}
