/** Per TSS node: a one-replica StatefulSet with its own volume, a headless Service, an unseal Secret. */
import type {
  V1Affinity,
  V1Container,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { KmsCluster } from '../api/v1alpha1/index.ts';
import { KekSidecarEnvSchema, NodeEnvSchema } from '../../common/config/env.ts';
import { checkedEnv } from './env.ts';
import {
  containerSecurityContext,
  CUSTOS_HOME,
  imageOf,
  imagePullSecrets,
  NODE_READY_PROBE,
  NODE_PORT,
  nodeName,
  objectMeta,
  podSecurityContext,
  selectorLabels,
  unsealSecretName,
} from './meta.ts';

const KEK_SOCKET_DIR = '/run/custos';

export function nodeService(c: KmsCluster, id: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(c, nodeName(c, id), 'node', id),
    spec: {
      clusterIP: 'None',
      // The gateway must reach a sealed node to report it; readiness gates signing, not routing.
      publishNotReadyAddresses: true,
      selector: selectorLabels(c, 'node', id),
      ports: [{ name: 'grpc', port: NODE_PORT, targetPort: 'grpc', protocol: 'TCP' }],
    },
  };
}

/**
 * Operator-generated unseal password; only built when the user names no Secret of their own. It
 * has no owner reference: like the retained shard volume, it must outlive a deleted KmsCluster, or
 * the shares on that volume could never be unsealed again.
 */
export function nodeUnsealSecret(c: KmsCluster, id: string, password: string): V1Secret {
  const { ownerReferences: _owned, ...meta } = objectMeta(c, unsealSecretName(c, id), 'node', id);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta,
    type: 'Opaque',
    immutable: true,
    stringData: { password },
  };
}

export const operatorGeneratesUnsealSecrets = (c: KmsCluster): boolean =>
  c.spec.unseal.mode === 'Password' && !c.spec.unseal.password?.secretPrefix;

function unsealWiring(c: KmsCluster, id: string) {
  if (c.spec.unseal.mode === 'Password') {
    const volumes: V1Volume[] = [
      {
        name: 'unseal',
        secret: {
          secretName: unsealSecretName(c, id),
          defaultMode: 0o400,
          items: [{ key: 'password', path: 'password' }],
        },
      },
    ];
    return {
      volumes,
      mounts: [{ name: 'unseal', mountPath: '/etc/custos/unseal', readOnly: true }] as V1VolumeMount[],
      env: [{ name: 'CUSTOS_UNSEAL_PASSWORD_FILE', value: '/etc/custos/unseal/password' }],
      sidecars: [] as V1Container[],
    };
  }
  const p = c.spec.unseal.pkcs11!;
  // The sidecar opens the HSM and hands the unwrapped KEK to the node over a Unix socket on a
  // memory-backed volume, so the PIN never enters the node container and the KEK never hits disk.
  const volumes: V1Volume[] = [
    { name: 'kek-socket', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    {
      name: 'hsm-pin',
      secret: {
        secretName: p.pinSecretRef.name,
        defaultMode: 0o400,
        items: [{ key: p.pinSecretRef.key, path: 'pin' }],
      },
    },
  ];
  const socket = { name: 'kek-socket', mountPath: KEK_SOCKET_DIR };
  const sidecar: V1Container = {
    name: 'pkcs11',
    image: c.spec.images.pkcs11Sidecar!,
    imagePullPolicy: c.spec.images.pullPolicy,
    // The node image ships the sidecar too; a vendor image adds its PKCS#11 library on top.
    command: ['node', '--max-semi-space-size=2', '/app/dist/node/kek-sidecar/main.js'],
    env: checkedEnv(KekSidecarEnvSchema, [
      { name: 'CUSTOS_NODE_ID', value: id },
      { name: 'CUSTOS_PKCS11_MODULE', value: p.modulePath },
      { name: 'CUSTOS_PKCS11_TOKEN_LABEL', value: p.tokenLabel },
      { name: 'CUSTOS_PKCS11_KEY_LABEL', value: p.keyLabel },
      { name: 'CUSTOS_PKCS11_PIN_FILE', value: '/etc/custos/hsm/pin' },
      { name: 'CUSTOS_KEK_SOCKET', value: `${KEK_SOCKET_DIR}/kek.sock` },
    ]),
    volumeMounts: [socket, { name: 'hsm-pin', mountPath: '/etc/custos/hsm', readOnly: true }],
    securityContext: containerSecurityContext,
  };
  return {
    volumes,
    mounts: [socket] as V1VolumeMount[],
    env: [{ name: 'CUSTOS_KEK_SOCKET', value: `${KEK_SOCKET_DIR}/kek.sock` }],
    sidecars: [sidecar],
  };
}

/** The node's cert-manager Secret, mounted whole: the kubelet updates it in place on renewal. */
export const NODE_TLS_DIR = '/etc/custos/tls';

/**
 * The layout under CUSTOS_HOME (README "Shares at rest") on the node's volume: certs/{id}/ holds the wrapped DEK
 * ({id}.dek), data/leveldb_{id} the shares. The certificate Secret is mounted as a directory,
 * never with subPath (a subPath mount is never updated, and a renewal would go unseen); the node
 * reloads it when the files change (CUSTOS_TLS_DIR).
 */
export function nodeVolumeMounts(id: string): V1VolumeMount[] {
  return [
    { name: 'data', mountPath: `${CUSTOS_HOME}/data`, subPath: 'data' },
    { name: 'data', mountPath: `${CUSTOS_HOME}/certs/${id}`, subPath: 'keys' },
    { name: 'certs', mountPath: NODE_TLS_DIR, readOnly: true },
  ];
}

export function nodeStatefulSet(c: KmsCluster, id: string): V1StatefulSet {
  const name = nodeName(c, id);
  const unseal = unsealWiring(c, id);
  const spread = c.spec.topologySpread;
  const extra = c.spec.nodePod;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: objectMeta(c, name, 'node', id),
    spec: {
      replicas: 1,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selectorLabels(c, 'node', id) },
      // Shard volumes outlive the StatefulSet: losing one loses that node's shares.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      // The operator restarts node pods itself, one at a time (operator/controllers/rollout.ts).
      updateStrategy: { type: 'OnDelete' },
      template: {
        metadata: { labels: selectorLabels(c, 'node', id) },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext,
          terminationGracePeriodSeconds: 30,
          ...(spread
            ? {
                topologySpreadConstraints: [
                  {
                    maxSkew: 1,
                    topologyKey: spread.topologyKey,
                    whenUnsatisfiable: spread.whenUnsatisfiable,
                    labelSelector: {
                      matchLabels: {
                        'app.kubernetes.io/instance': c.metadata.name,
                        'app.kubernetes.io/component': 'node',
                      },
                    },
                  },
                ],
              }
            : {}),
          containers: [
            {
              name: 'node',
              image: imageOf(c, 'node'),
              imagePullPolicy: c.spec.images.pullPolicy,
              ports: [{ name: 'grpc', containerPort: NODE_PORT, protocol: 'TCP' }],
              env: checkedEnv(NodeEnvSchema, [
                { name: 'CUSTOS_NODE_ID', value: id },
                { name: 'CUSTOS_HOME', value: CUSTOS_HOME },
                { name: 'CUSTOS_LISTEN', value: `0.0.0.0:${NODE_PORT}` },
                { name: 'CUSTOS_TLS_DIR', value: NODE_TLS_DIR },
                ...unseal.env,
              ]),
              // Ready only once unsealed: a sealed node signs nothing (see operator/probes/node-ready.ts).
              readinessProbe: {
                exec: { command: NODE_READY_PROBE },
                periodSeconds: 10,
                // The probe is a Node process that loads gRPC and the node's config: on 2 busy
                // cores it was measured at 12 s (5 s timed out every time), and 20 s timed out
                // every time at load average 58.
                timeoutSeconds: 45,
                failureThreshold: 2,
              },
              livenessProbe: { tcpSocket: { port: 'grpc' }, periodSeconds: 20, failureThreshold: 3 },
              resources: c.spec.resources?.node as never,
              securityContext: containerSecurityContext,
              volumeMounts: [
                ...nodeVolumeMounts(id),
                { name: 'tmp', mountPath: '/tmp' },
                ...unseal.mounts,
                ...((extra?.volumeMounts ?? []) as unknown as V1VolumeMount[]),
              ],
            },
            ...unseal.sidecars,
          ],
          volumes: [
            { name: 'certs', secret: { secretName: `${name}-tls`, defaultMode: 0o400 } },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
            ...unseal.volumes,
            ...((extra?.volumes ?? []) as unknown as V1Volume[]),
          ],
          ...(c.spec.images.pullSecrets.length ? { imagePullSecrets: imagePullSecrets(c) } : {}),
          ...(extra?.tolerations ? { tolerations: extra.tolerations as V1Toleration[] } : {}),
          ...(extra?.nodeSelector ? { nodeSelector: extra.nodeSelector } : {}),
          ...(extra?.affinity ? { affinity: extra.affinity as V1Affinity } : {}),
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: selectorLabels(c, 'node', id) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            ...(c.spec.storage.storageClassName ? { storageClassName: c.spec.storage.storageClassName } : {}),
            resources: { requests: { storage: String(c.spec.storage.size) } },
          },
        },
      ],
    },
  };
}
