/**
 * Wires informers, work queues, leader election and metrics. Every replica keeps its caches warm;
 * only the leader reconciles.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, VERSION } from './api/v1alpha1/index.ts';
import { FIELD_MANAGER } from './builders/meta.ts';
import { KubeClient, type KubeObject } from './kube/client.ts';
import { recordEvent } from './kube/events.ts';
import { SupervisedInformer } from './kube/informer.ts';
import { LeaderElector } from './kube/leader.ts';
import { WorkQueue, type Result } from './kube/queue.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { Context } from './controllers/context.ts';
import { reconcileKmsCluster } from './controllers/kmscluster.ts';
import { reconcileManagedKey } from './controllers/managedkey.ts';
import { reconcileKeyRotation } from './controllers/keyrotation.ts';

export interface OperatorOptions {
  kc: KubeConfig;
  log: Logger;
  namespace: string;
  identity: string;
  leaseName?: string;
  leaseDurationSeconds?: number;
  renewEveryMs?: number;
  resyncMs?: number;
  /** Watch only this namespace (namespace-scoped install: a Role there instead of a ClusterRole). */
  watchNamespace?: string;
  /** See Context.gatewayUrl: for an operator outside the cluster only. */
  gatewayUrl?: Context['gatewayUrl'];
}

type Kind = 'KmsCluster' | 'ManagedKey' | 'KeyRotation';
const OWNED = `app.kubernetes.io/managed-by=${FIELD_MANAGER}`;

export class Operator {
  readonly client: KubeClient;
  readonly metrics: Metrics;
  readonly informers: Record<Context['informers'] extends Record<infer K, unknown> ? K : never, SupervisedInformer>;
  readonly queues: Record<Kind, WorkQueue>;
  readonly elector: LeaderElector;
  private readonly ctx: Context;

  constructor(private readonly o: OperatorOptions) {
    this.client = new KubeClient(o.kc);
    this.metrics = createMetrics(() =>
      Object.fromEntries(Object.entries(this.informers).map(([n, i]) => [n, (Date.now() - i.lastEventAt) / 1000])),
    );
    const reconcilers: Record<Kind, (ctx: Context, ns: string, name: string) => Promise<Result | void>> = {
      KmsCluster: reconcileKmsCluster,
      ManagedKey: reconcileManagedKey,
      KeyRotation: reconcileKeyRotation,
    };
    const queue = (kind: Kind) =>
      new WorkQueue(
        async (key) => {
          const [ns, name] = key.split('/') as [string, string];
          const end = this.metrics.duration.startTimer({ kind });
          try {
            const r = await reconcilers[kind](this.ctx, ns, name);
            this.metrics.reconciles.inc({ kind, result: 'success' });
            return r;
          } finally {
            end();
          }
        },
        (key, err) => {
          this.metrics.reconciles.inc({ kind, result: 'error' });
          this.metrics.errors.inc({ kind });
          o.log.error({ kind, key, err: (err as Error).message }, 'reconcile failed; retrying with backoff');
        },
      );
    this.queues = {
      KmsCluster: queue('KmsCluster'),
      ManagedKey: queue('ManagedKey'),
      KeyRotation: queue('KeyRotation'),
    };

    const keyOf = (obj: KubeObject) => `${obj.metadata.namespace}/${obj.metadata.name}`;
    const ownerKey = (obj: KubeObject) => {
      const ref = obj.metadata.ownerReferences?.find((r) => r.kind === 'KmsCluster');
      if (ref) this.queues.KmsCluster.add(`${obj.metadata.namespace}/${ref.name}`);
    };
    const inf = (name: string, path: string, onEvent: (o: KubeObject) => void, labelSelector?: string) =>
      new SupervisedInformer(o.kc, this.client, {
        name,
        path,
        labelSelector,
        resyncMs: o.resyncMs ?? 300_000,
        log: o.log,
        onEvent,
        onRestart: () => this.metrics.informerRestarts.inc({ informer: name }),
      });
    // Cluster-wide, or the one watched namespace: the RBAC the chart grants follows the same choice.
    const scoped = (prefix: string, plural: string) =>
      o.watchNamespace ? `${prefix}/namespaces/${o.watchNamespace}/${plural}` : `${prefix}/${plural}`;
    const crPath = (plural: string) => scoped(`/apis/${GROUP}/${VERSION}`, plural);
    this.informers = {
      kmsclusters: inf('kmsclusters', crPath('kmsclusters'), (obj) => {
        this.queues.KmsCluster.add(keyOf(obj));
        // Keys follow their cluster (gateway endpoint, algorithms, node count).
        for (const k of this.informers.managedkeys.list(obj.metadata.namespace))
          if ((k.spec as { clusterRef?: { name?: string } }).clusterRef?.name === obj.metadata.name)
            this.queues.ManagedKey.add(keyOf(k));
      }),
      managedkeys: inf('managedkeys', crPath('managedkeys'), (obj) => {
        this.queues.ManagedKey.add(keyOf(obj));
        for (const r of this.informers.keyrotations.list(obj.metadata.namespace))
          if ((r.spec as { keyRef?: { name?: string } }).keyRef?.name === obj.metadata.name)
            this.queues.KeyRotation.add(keyOf(r));
      }),
      keyrotations: inf('keyrotations', crPath('keyrotations'), (obj) => this.queues.KeyRotation.add(keyOf(obj))),
      statefulsets: inf('statefulsets', scoped('/apis/apps/v1', 'statefulsets'), ownerKey, OWNED),
      deployments: inf('deployments', scoped('/apis/apps/v1', 'deployments'), ownerKey, OWNED),
      certificates: inf('certificates', scoped('/apis/cert-manager.io/v1', 'certificates'), ownerKey, OWNED),
    };
    this.ctx = {
      client: this.client,
      log: o.log,
      metrics: this.metrics,
      namespace: o.namespace,
      informers: this.informers,
      gatewayUrl: o.gatewayUrl,
      events: async (obj, type, reason, message) => {
        await recordEvent(this.client, obj, type, reason, message).catch((err: Error) =>
          o.log.warn({ err: err.message, reason }, 'could not record event'),
        );
      },
    };
    this.elector = new LeaderElector(this.client, {
      namespace: o.namespace,
      name: o.leaseName ?? 'custos-operator',
      identity: o.identity,
      leaseDurationSeconds: o.leaseDurationSeconds ?? 15,
      renewEveryMs: o.renewEveryMs ?? 5_000,
      log: o.log,
      onStartedLeading: () => {
        this.metrics.leader.set(1);
        for (const q of Object.values(this.queues)) q.start();
        // Everything in the caches gets one reconcile under the new leader.
        for (const [kind, name] of [
          ['KmsCluster', 'kmsclusters'],
          ['ManagedKey', 'managedkeys'],
          ['KeyRotation', 'keyrotations'],
        ] as const)
          for (const obj of this.informers[name].list()) this.queues[kind].add(keyOf(obj));
      },
      onStoppedLeading: () => {
        this.metrics.leader.set(0);
        for (const q of Object.values(this.queues)) q.stop();
      },
    });
  }

  get leading(): boolean {
    return this.elector.leading;
  }

  start(): void {
    for (const i of Object.values(this.informers)) i.start();
    this.elector.start();
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    for (const i of Object.values(this.informers)) i.stop();
  }
}
