/**
 * The e2e suite's KmsCluster, ManagedKeys and the reads the steps share (names follow
 * operator/builders/meta.ts; pods are found by their labels, never by generated names).
 */
import type { Kube } from './kube.ts';
import { waitFor } from './kube.ts';
import type { E2eAlgo } from './verify.ts';

export const OPERATOR_NAMESPACE = 'custos-system';
export const NAMESPACE = 'custos-e2e';
export const CLUSTER = 'custody';
export const NODES = 3;
export const THRESHOLD = 2;
/** The admin credentials Secret (base_url, access_key, secret_key) the chart's NOTES.txt names. */
export const adminCredentialsSecret = (cluster: string): string => `${cluster}-admin-credentials`;

export interface ClusterImages {
  node: string;
  gateway: string;
  pkcs11Sidecar?: string;
  pullPolicy: string;
}

export function kmsCluster(name: string, namespace: string, images: ClusterImages, unseal?: object): object {
  return {
    apiVersion: 'custos.dev/v1alpha1',
    kind: 'KmsCluster',
    metadata: { name, namespace },
    spec: {
      nodes: NODES,
      keyDefaults: { shardCount: NODES, threshold: THRESHOLD },
      // Small volumes: local-path ignores the size, kind's provisioner too.
      storage: { size: '256Mi' },
      images,
      // The client pods run in the cluster's own namespace.
      gateway: { replicas: 1, allowedClientNamespaces: [namespace] },
      ...(unseal ? { unseal } : {}),
    },
  };
}

export const KEYS: { name: string; algo: E2eAlgo; curve: string }[] = [
  { name: 'e2e-eddsa', algo: 'EDDSA', curve: 'ED25519' },
  { name: 'e2e-bls', algo: 'BLS', curve: 'BLS12_381' },
  { name: 'e2e-gg18', algo: 'GG18', curve: 'SECP256K1' },
];

export function managedKey(name: string, namespace: string, cluster: string, algo: E2eAlgo, curve: string): object {
  return {
    apiVersion: 'custos.dev/v1alpha1',
    kind: 'ManagedKey',
    metadata: { name, namespace },
    spec: {
      clusterRef: { name: cluster },
      format: { curve, algoType: algo },
      shardProperties: { shardCount: NODES, threshold: THRESHOLD },
      keyStatus: 'ACTIVE',
      deletionPolicy: 'Archive',
    },
  };
}

export interface Pod {
  metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string; uid: string };
  spec: { containers: { name: string; image: string }[] };
  status: {
    podIP?: string;
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number }[];
  };
}

export const isReady = (p: Pod): boolean =>
  !p.metadata.deletionTimestamp && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export async function pods(kube: Kube, namespace: string, cluster: string, component: string): Promise<Pod[]> {
  const list = await kube.kubectlJson<{ items: Pod[] }>([
    '-n',
    namespace,
    'get',
    'pods',
    '-l',
    `app.kubernetes.io/instance=${cluster},app.kubernetes.io/component=${component}`,
  ]);
  return list.items;
}

export async function waitClusterReady(
  kube: Kube,
  namespace: string,
  cluster: string,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    `KmsCluster ${namespace}/${cluster} Ready with ${NODES} ready node pods`,
    async () => {
      const c = await kube.kubectlJson<{
        status?: { conditions?: { type: string; status: string; message?: string }[] };
      }>(['-n', namespace, 'get', 'kmscluster', cluster]);
      const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
      const nodePods = (await pods(kube, namespace, cluster, 'node')).filter(isReady);
      const gatewayPods = (await pods(kube, namespace, cluster, 'gateway')).filter(isReady);
      if (ready?.status === 'True' && nodePods.length === NODES && gatewayPods.length > 0) return true;
      throw new Error(
        `Ready=${ready?.status ?? '-'} (${ready?.message ?? ''}); ready node pods ${nodePods.length}/${NODES}; gateway ${gatewayPods.length}`,
      );
    },
    timeoutMs,
    3_000,
  );
}

export interface ManagedKeyStatus {
  phase?: string;
  keyId?: string;
  address?: string;
  publicKey?: string;
}

export async function waitKeyReady(
  kube: Kube,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<ManagedKeyStatus> {
  return waitFor(
    `ManagedKey ${name} Ready with an address`,
    async () => {
      const k = await kube.kubectlJson<{ status?: ManagedKeyStatus }>(['-n', namespace, 'get', 'managedkey', name]);
      if (k.status?.phase === 'Ready' && k.status.keyId && k.status.publicKey && k.status.address) return k.status;
      throw new Error(`phase ${k.status?.phase ?? '-'}`);
    },
    timeoutMs,
    5_000,
  );
}
