/** What every reconciler gets from the manager. */
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Metrics } from '../metrics.ts';
import type { KmsCluster } from '../api/v1alpha1/index.ts';

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
  /**
   * Where the gateway of a cluster is reached when not at its in-cluster Service address: only
   * for an operator run outside the cluster (tests), set in code, never from a resource.
   */
  gatewayUrl?: (c: KmsCluster) => string;
  events(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}
