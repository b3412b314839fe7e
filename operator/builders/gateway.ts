/** The gateway: Deployment, Service, embedded-database volume and the operator's bootstrap credentials. */
import type {
  V1Deployment,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1Secret,
  V1Service,
  V1Volume,
} from '@kubernetes/client-node';
import type { KmsCluster } from '../api/v1alpha1/index.ts';
import { GatewayEnvSchema } from '../../common/config/env.ts';
import { checkedEnv } from './env.ts';
import {
  containerSecurityContext,
  adminCredentialsSecretName,
  credentialsSecretName,
  CONSOLE_PORT,
  consoleAdminSecretName,
  consoleName,
  CUSTOS_HOME,
  gatewayEndpoint,
  imageOf,
  imagePullSecrets,
  GATEWAY_PORT,
  gatewayName,
  masterKeySecretName,
  NODE_PORT,
  nodeIds,
  nodeName,
  objectMeta,
  podSecurityContext,
  selectorLabels,
} from './meta.ts';

const STATE_DIR = `${CUSTOS_HOME}/gateway`;
const BOOTSTRAP_DIR = '/etc/custos/bootstrap';
/**
 * On SIGTERM the gateway fails /ready at once but serves for this long, so kube-proxy and the
 * Service endpoints drop the pod before it stops accepting connections.
 */
export const GATEWAY_DRAIN_SECONDS = 10;
/** Drain, then the longest request in flight (a sign session is bounded at 30 s), then margin. */
export const GATEWAY_TERMINATION_GRACE_SECONDS = GATEWAY_DRAIN_SECONDS + 50;

export function gatewayService(c: KmsCluster): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(c, gatewayName(c), 'gateway'),
    spec: {
      type: c.spec.gateway.serviceType,
      selector: selectorLabels(c, 'gateway'),
      ports: [{ name: 'https', port: GATEWAY_PORT, targetPort: 'https', protocol: 'TCP' }],
    },
  };
}

/** The admin console's Service: exposed on its own, so a load balancer for the API never carries it. */
export function consoleService(c: KmsCluster): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(c, consoleName(c), 'gateway'),
    spec: {
      type: c.spec.gateway.console.serviceType,
      selector: selectorLabels(c, 'gateway'),
      ports: [{ name: 'console', port: CONSOLE_PORT, targetPort: 'console', protocol: 'TCP' }],
    },
  };
}

/**
 * The operator's own gateway access key, a `key-admin`: it generates and archives keys but the
 * gateway refuses it any signature. The gateway enrols it from the mounted file at start.
 */
export function credentialsSecret(c: KmsCluster, accessKey: string, secretKey: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(c, credentialsSecretName(c), 'gateway'),
    type: 'Opaque',
    stringData: {
      access_key: accessKey,
      secret_key: secretKey,
      'credentials.json': JSON.stringify({ access_key: accessKey, secret_key: secretKey, roles: ['key-admin'] }),
    },
  };
}

/**
 * The first admin access key, for the platform team (NOTES.txt tells how to read it): the shape of
 * credentials.json, `base_url`, `access_key`, `secret_key`. Like every Secret in the cluster's
 * namespace it is readable by whoever may read Secrets there: keep tenants out of that namespace.
 */
export function adminCredentialsSecret(c: KmsCluster, accessKey: string, secretKey: string): V1Secret {
  const credentials = { base_url: gatewayEndpoint(c), access_key: accessKey, secret_key: secretKey };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(c, adminCredentialsSecretName(c), 'gateway'),
    type: 'Opaque',
    stringData: {
      ...credentials,
      'credentials.json': JSON.stringify({ ...credentials, roles: ['admin'] }),
    },
  };
}

/**
 * The console's first user, for the platform team: `username`, `password`, `totp_secret` (base32,
 * for an authenticator app) and `console-user.json`, which the gateway reads at start and creates
 * the user from when absent. Readable like the admin credentials Secret above.
 */
export function consoleAdminSecret(c: KmsCluster, password: string, totpSecret: string): V1Secret {
  const user = { username: 'admin', password, totp_secret: totpSecret, roles: ['admin'] };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(c, consoleAdminSecretName(c), 'gateway'),
    type: 'Opaque',
    stringData: {
      username: user.username,
      password,
      totp_secret: totpSecret,
      'console-user.json': JSON.stringify(user),
    },
  };
}

/**
 * Key for secret keys at rest in the gateway database, shared by every replica. Like the database
 * volume it has no owner reference: it must outlive a deleted KmsCluster with the shares.
 */
export function masterKeySecret(c: KmsCluster, keyHex: string, auditKeyHex: string): V1Secret {
  const { ownerReferences: _owned, ...meta } = objectMeta(c, masterKeySecretName(c), 'gateway');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta,
    type: 'Opaque',
    immutable: true,
    // audit_key signs the audit log's checkpoints; every replica must sign with the same key.
    stringData: { master_key: keyHex, audit_key: auditKeyHex },
  };
}

/** The embedded (SQLite) database volume; retained when the cluster is deleted. */
export function gatewayDatabaseClaim(c: KmsCluster): V1PersistentVolumeClaim {
  const { ownerReferences: _owned, ...meta } = objectMeta(c, `${gatewayName(c)}-db`, 'gateway');
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta,
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(c.spec.storage.storageClassName ? { storageClassName: c.spec.storage.storageClassName } : {}),
      resources: { requests: { storage: String(c.spec.database.size) } },
    },
  };
}

/** Node addresses the coordinator dials: id=host:port, comma-separated. */
export function nodeAddresses(c: KmsCluster): string {
  return nodeIds(c)
    .map((id) => `${id}=${nodeName(c, id)}.${c.metadata.namespace}.svc:${NODE_PORT}`)
    .join(',');
}

/** Embedded: the gateway's default SQLite file under $CUSTOS_HOME/gateway. */
function databaseEnv(c: KmsCluster): V1EnvVar[] {
  const m = c.spec.database.mysql;
  if (c.spec.database.type === 'Embedded' || !m) return [];
  const ref = (key: string) => ({ secretKeyRef: { name: m.credentialsSecret, key } });
  return [
    { name: 'CUSTOS_DB_USER', valueFrom: ref('username') },
    { name: 'CUSTOS_DB_PASSWORD', valueFrom: ref('password') },
    {
      name: 'CUSTOS_DATABASE_URL',
      value: `mysql://$(CUSTOS_DB_USER):$(CUSTOS_DB_PASSWORD)@${m.host}:${m.port}/${m.database}`,
    },
  ];
}

function redisEnv(c: KmsCluster): V1EnvVar[] {
  const r = c.spec.redis;
  if (!r) return [];
  if (!r.passwordSecretRef) return [{ name: 'CUSTOS_REDIS_URL', value: `redis://${r.host}:${r.port}` }];
  return [
    {
      name: 'CUSTOS_REDIS_PASSWORD',
      valueFrom: { secretKeyRef: { name: r.passwordSecretRef.name, key: r.passwordSecretRef.key } },
    },
    { name: 'CUSTOS_REDIS_URL', value: `redis://:$(CUSTOS_REDIS_PASSWORD)@${r.host}:${r.port}` },
  ];
}

export function gatewayDeployment(c: KmsCluster): V1Deployment {
  const name = gatewayName(c);
  const embedded = c.spec.database.type === 'Embedded';
  const volumes: V1Volume[] = [
    {
      name: 'certs',
      secret: {
        secretName: `${name}-tls`,
        defaultMode: 0o400,
        items: [
          { key: 'ca.crt', path: 'ca.cert' },
          { key: 'tls.crt', path: 'gateway/gateway.cert' },
          { key: 'tls.key', path: 'gateway/gateway.key' },
        ],
      },
    },
    {
      name: 'bootstrap',
      projected: {
        defaultMode: 0o400,
        sources: [
          { secret: { name: credentialsSecretName(c), items: [{ key: 'credentials.json', path: 'operator.json' }] } },
          { secret: { name: adminCredentialsSecretName(c), items: [{ key: 'credentials.json', path: 'admin.json' }] } },
          ...(c.spec.gateway.console.enabled
            ? [
                {
                  secret: {
                    name: consoleAdminSecretName(c),
                    items: [{ key: 'console-user.json', path: 'console-user.json' }],
                  },
                },
              ]
            : []),
        ],
      },
    },
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    embedded ? { name: 'state', persistentVolumeClaim: { claimName: `${name}-db` } } : { name: 'state', emptyDir: {} },
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(c, name, 'gateway'),
    spec: {
      replicas: c.spec.gateway.replicas,
      selector: { matchLabels: selectorLabels(c, 'gateway') },
      // An embedded SQLite file on a ReadWriteOnce volume has exactly one writer at a time.
      // Otherwise a new replica serves before an old one leaves, and must stay Ready for a few
      // seconds (endpoints propagated) before the next old replica is stopped.
      strategy: embedded
        ? { type: 'Recreate' }
        : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      minReadySeconds: embedded ? 0 : 5,
      template: {
        metadata: { labels: selectorLabels(c, 'gateway') },
        spec: {
          terminationGracePeriodSeconds: GATEWAY_TERMINATION_GRACE_SECONDS,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext,
          ...(c.spec.images.pullSecrets.length ? { imagePullSecrets: imagePullSecrets(c) } : {}),
          containers: [
            {
              name: 'gateway',
              image: imageOf(c, 'gateway'),
              imagePullPolicy: c.spec.images.pullPolicy,
              ports: [
                { name: 'https', containerPort: GATEWAY_PORT, protocol: 'TCP' },
                ...(c.spec.gateway.console.enabled
                  ? [{ name: 'console', containerPort: CONSOLE_PORT, protocol: 'TCP' }]
                  : []),
              ],
              env: checkedEnv(GatewayEnvSchema, [
                { name: 'CUSTOS_HOME', value: CUSTOS_HOME },
                { name: 'CUSTOS_GATEWAY_HOST', value: '0.0.0.0' },
                { name: 'CUSTOS_GATEWAY_PORT', value: String(GATEWAY_PORT) },
                { name: 'CUSTOS_NODES', value: nodeAddresses(c) },
                { name: 'CUSTOS_ALGORITHMS', value: c.spec.algorithms.join(',') },
                {
                  name: 'CUSTOS_BOOTSTRAP_CREDENTIALS_FILE',
                  value: `${BOOTSTRAP_DIR}/operator.json,${BOOTSTRAP_DIR}/admin.json`,
                },
                // HTTPS with the gateway's certificate; the operator verifies it against the cluster CA.
                { name: 'CUSTOS_GATEWAY_TLS', value: '1' },
                // The console serves HTTPS with the same certificate, on its own port.
                { name: 'CUSTOS_CONSOLE_ENABLED', value: c.spec.gateway.console.enabled ? '1' : '0' },
                { name: 'CUSTOS_CONSOLE_PORT', value: String(CONSOLE_PORT) },
                ...(c.spec.gateway.console.enabled
                  ? [{ name: 'CUSTOS_CONSOLE_BOOTSTRAP_FILE', value: `${BOOTSTRAP_DIR}/console-user.json` }]
                  : []),
                { name: 'CUSTOS_GATEWAY_DRAIN_SECONDS', value: String(GATEWAY_DRAIN_SECONDS) },
                {
                  name: 'CUSTOS_GATEWAY_MASTER_KEY',
                  valueFrom: { secretKeyRef: { name: masterKeySecretName(c), key: 'master_key' } },
                },
                {
                  name: 'CUSTOS_GATEWAY_AUDIT_KEY',
                  valueFrom: { secretKeyRef: { name: masterKeySecretName(c), key: 'audit_key' } },
                },
                ...databaseEnv(c),
                ...redisEnv(c),
              ]),
              // Every 2 s: a replacement pod (Recreate, embedded database) takes traffic soon after it can.
              readinessProbe: {
                httpGet: { path: '/ready', port: 'https', scheme: 'HTTPS' },
                periodSeconds: 2,
                failureThreshold: 2,
              },
              livenessProbe: { httpGet: { path: '/health', port: 'https', scheme: 'HTTPS' }, periodSeconds: 20 },
              resources: c.spec.resources?.gateway as never,
              securityContext: containerSecurityContext,
              volumeMounts: [
                { name: 'certs', mountPath: `${CUSTOS_HOME}/certs`, readOnly: true },
                { name: 'bootstrap', mountPath: BOOTSTRAP_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
                // Database (embedded), audit signing key and other gateway state.
                { name: 'state', mountPath: STATE_DIR },
              ],
            },
          ],
          volumes,
        },
      },
    },
  };
}
