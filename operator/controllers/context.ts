/** What every reconciler gets from the manager. */
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Metrics } from '../metrics.ts';

export interface Cache {
  get(name: string, namespace?: string): KubeObject | undefined;
  list(namespace?: string): KubeObject[];
}

export interface Context {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  /** Namespace the operator runs in (its Lease, its NetworkPolicy peer). */
  namespace: string;
  informers: Record<
    'kmsclusters' | 'managedkeys' | 'keyrotations' | 'statefulsets' | 'deployments' | 'certificates',
    Cache
  >;
  events(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}
