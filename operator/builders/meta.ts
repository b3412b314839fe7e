/** Names, labels, owner references and pod hardening shared by every builder. */
import type { V1OwnerReference, V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';
import { API_VERSION, type KmsCluster } from '../api/v1alpha1/index.ts';

export const FIELD_MANAGER = 'custos-operator';
export const NODE_PORT = 9000;
/** Images run the compiled tree from /app/dist (see the root Dockerfile). */
export const NODE_READY_PROBE = ['node', '/app/dist/operator/probes/node-ready.js'];
export const GATEWAY_PORT = 8080;
/** The admin console's port on the gateway pods (gateway/console). */
export const CONSOLE_PORT = 8880;
export const CUSTOS_HOME = '/opt/kms/tss-server';
export const RUN_AS = 10001;

export type Component = 'node' | 'gateway' | 'backup';

export const nodeIds = (c: KmsCluster): string[] => Array.from({ length: c.spec.nodes }, (_, i) => `tss${i + 1}`);

export const nodeName = (c: KmsCluster, id: string): string => `${c.metadata.name}-${id}`;
export const gatewayName = (c: KmsCluster): string => `${c.metadata.name}-gateway`;
export const consoleName = (c: KmsCluster): string => `${c.metadata.name}-console`;
export const caName = (c: KmsCluster): string => `${c.metadata.name}-ca`;
export const masterKeySecretName = (c: KmsCluster): string => `${c.metadata.name}-gateway-master-key`;
export const credentialsSecretName = (c: KmsCluster): string => `${c.metadata.name}-operator-credentials`;
export const adminCredentialsSecretName = (c: KmsCluster): string => `${c.metadata.name}-admin-credentials`;
export const consoleAdminSecretName = (c: KmsCluster): string => `${c.metadata.name}-console-admin`;
export const gatewayTlsSecretName = (c: KmsCluster): string => `${gatewayName(c)}-tls`;
export const unsealSecretName = (c: KmsCluster, id: string): string =>
  `${c.spec.unseal.password?.secretPrefix ?? `${c.metadata.name}-unseal`}-${id}`;
/** The gateway's in-cluster HTTPS address; the operator derives it, nothing on the resource can change it. */
export const gatewayEndpoint = (c: KmsCluster): string =>
  `https://${gatewayName(c)}.${c.metadata.namespace}.svc:${GATEWAY_PORT}`;

/** Labels on every object of a cluster; the first three select pods, so they never change. */
export function selectorLabels(c: KmsCluster, component: Component, nodeId?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'custos',
    'app.kubernetes.io/instance': c.metadata.name,
    'app.kubernetes.io/component': component,
    ...(nodeId ? { 'custos.dev/node-id': nodeId } : {}),
  };
}

export function labels(c: KmsCluster, component?: Component, nodeId?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'custos',
    'app.kubernetes.io/instance': c.metadata.name,
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    ...(component ? { 'app.kubernetes.io/component': component } : {}),
    ...(nodeId ? { 'custos.dev/node-id': nodeId } : {}),
  };
}

export function ownerRef(c: KmsCluster): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: 'KmsCluster',
    name: c.metadata.name,
    uid: c.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function objectMeta(c: KmsCluster, name: string, component?: Component, nodeId?: string) {
  return {
    name,
    namespace: c.metadata.namespace,
    labels: labels(c, component, nodeId),
    ownerReferences: [ownerRef(c)],
  };
}

export const podSecurityContext: V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  fsGroup: RUN_AS,
  seccompProfile: { type: 'RuntimeDefault' },
};

export const containerSecurityContext: V1SecurityContext = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** custos-node / custos-gateway from the cluster's registry and tag, unless a full reference is given. */
export function imageOf(c: KmsCluster, image: 'node' | 'gateway'): string {
  return c.spec.images[image] ?? `${c.spec.images.registry}/custos-${image}:${c.spec.images.tag}`;
}

export const imagePullSecrets = (c: KmsCluster): { name: string }[] =>
  c.spec.images.pullSecrets.map((s) => ({ name: s.name }));
