/** NetworkPolicies and PodDisruptionBudgets. */
import type { V1LabelSelector, V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { KmsCluster } from '../api/v1alpha1/index.ts';
import { CONSOLE_PORT, consoleName, GATEWAY_PORT, gatewayName, NODE_PORT, objectMeta, selectorLabels } from './meta.ts';

// Wire shapes: client-node's model classes rename `from` to `_from`, and these objects go out as JSON.
export interface NetworkPolicyPeer {
  ipBlock?: { cidr: string; except?: string[] };
  namespaceSelector?: V1LabelSelector;
  podSelector?: V1LabelSelector;
}
interface PolicyPort {
  protocol: 'TCP' | 'UDP';
  port: number;
}
export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ReturnType<typeof objectMeta>;
  spec: {
    podSelector: V1LabelSelector;
    policyTypes: ('Ingress' | 'Egress')[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: PolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: PolicyPort[] }[];
  };
}

const instance = (c: KmsCluster) => ({
  'app.kubernetes.io/name': 'custos',
  'app.kubernetes.io/instance': c.metadata.name,
});

/** Every Custos pod of the cluster: no ingress, no egress, unless a policy below allows it. */
export function defaultDenyPolicy(c: KmsCluster): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(c, `${c.metadata.name}-default-deny`),
    spec: { podSelector: { matchLabels: instance(c) }, policyTypes: ['Ingress', 'Egress'] },
  };
}

/**
 * Nodes: ingress from the gateway on TCP 9000 only; egress: none at all, except, in PKCS#11 mode
 * with a network HSM, to that HSM's address and port (and DNS, to resolve it).
 */
export function nodePolicy(c: KmsCluster): NetworkPolicy {
  const hsm = c.spec.unseal.mode === 'PKCS11' ? c.spec.unseal.pkcs11?.network : undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(c, `${c.metadata.name}-nodes`, 'node'),
    spec: {
      podSelector: { matchLabels: { ...instance(c), 'app.kubernetes.io/component': 'node' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: selectorLabels(c, 'gateway') } }],
          ports: [{ protocol: 'TCP', port: NODE_PORT }],
        },
      ],
      // Egress listed in policyTypes with no egress rules: nothing may leave a node.
      ...(hsm
        ? {
            egress: [
              { to: [peer(hsm.peer)], ports: [{ protocol: 'TCP' as const, port: hsm.port }] },
              {
                to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
                ports: [
                  { protocol: 'UDP' as const, port: 53 },
                  { protocol: 'TCP' as const, port: 53 },
                ],
              },
            ],
          }
        : {}),
    },
  };
}

function peer(p: { cidr?: string; namespace?: string; podLabels?: Record<string, string> }): NetworkPolicyPeer {
  if (p.cidr) return { ipBlock: { cidr: p.cidr } };
  return {
    ...(p.namespace ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.namespace } } } : {}),
    ...(p.podLabels ? { podSelector: { matchLabels: p.podLabels } } : {}),
  };
}

/**
 * Gateway: ingress on 8080 from the allowed CIDRs and namespaces and from the operator; egress to
 * the nodes on 9000, to DNS, and to the database and Redis when they are external.
 */
export function gatewayPolicy(c: KmsCluster, operatorNamespace: string): NetworkPolicy {
  const from: NetworkPolicyPeer[] = [
    ...c.spec.gateway.allowedClientCIDRs.map((cidr) => ({ ipBlock: { cidr } })),
    ...c.spec.gateway.allowedClientNamespaces.map((ns) => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
    })),
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': operatorNamespace } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'custos-operator' } },
    },
  ];
  const mysql = c.spec.database.type === 'MySQL' ? c.spec.database.mysql : undefined;
  const redis = c.spec.redis;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(c, gatewayName(c), 'gateway'),
    spec: {
      podSelector: { matchLabels: { ...instance(c), 'app.kubernetes.io/component': 'gateway' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from, ports: [{ protocol: 'TCP', port: GATEWAY_PORT }] }],
      egress: [
        {
          to: [{ podSelector: { matchLabels: { ...instance(c), 'app.kubernetes.io/component': 'node' } } }],
          ports: [{ protocol: 'TCP', port: NODE_PORT }],
        },
        {
          to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        ...(mysql ? [{ to: [peer(mysql.network)], ports: [{ protocol: 'TCP' as const, port: mysql.port }] }] : []),
        ...(redis ? [{ to: [peer(redis.network)], ports: [{ protocol: 'TCP' as const, port: redis.port }] }] : []),
      ],
    },
  };
}

/**
 * Console: ingress on 8880 from the console's own CIDRs and namespaces only (none by default, which
 * leaves `kubectl port-forward`); the API's clients get no way in through this port.
 */
export function consolePolicy(c: KmsCluster): NetworkPolicy {
  const { allowedCIDRs, allowedNamespaces } = c.spec.gateway.console;
  const from: NetworkPolicyPeer[] = [
    ...allowedCIDRs.map((cidr) => ({ ipBlock: { cidr } })),
    ...allowedNamespaces.map((ns) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } })),
  ];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(c, consoleName(c), 'gateway'),
    spec: {
      podSelector: { matchLabels: { ...instance(c), 'app.kubernetes.io/component': 'gateway' } },
      policyTypes: ['Ingress'],
      ...(from.length ? { ingress: [{ from, ports: [{ protocol: 'TCP', port: CONSOLE_PORT }] }] } : {}),
    },
  };
}

/**
 * Nodes may be drained only while every key keeps a signing quorum: with the default shard
 * properties, at most shardCount - threshold shard holders may be down at once.
 */
export function nodeDisruptionBudget(c: KmsCluster): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(c, `${c.metadata.name}-nodes`, 'node'),
    spec: {
      maxUnavailable: c.spec.keyDefaults.shardCount - c.spec.keyDefaults.threshold,
      selector: { matchLabels: { ...instance(c), 'app.kubernetes.io/component': 'node' } },
    },
  };
}
