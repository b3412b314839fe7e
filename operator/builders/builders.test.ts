import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KmsClusterSpecSchema, MAX_CLUSTER_NAME_LENGTH, type KmsCluster } from '../api/v1alpha1/index.ts';
import { desiredObjects } from './index.ts';
import { nodeStatefulSet, nodeService, nodeUnsealSecret } from './node.ts';
import { imageOf } from './meta.ts';
import { consoleService, gatewayDeployment, nodeAddresses } from './gateway.ts';
import { consolePolicy, defaultDenyPolicy, gatewayPolicy, nodeDisruptionBudget, nodePolicy } from './policy.ts';
import { nodeCertificate, gatewayCertificate } from './certificates.ts';
import { backupCronJob, backupScript } from './backup.ts';
import { parseSpiffeId, peerMismatch } from '../../common/pki/identity.ts';

const root = new URL('../../', import.meta.url).pathname;

function cluster(file: string, name = 'custody'): KmsCluster {
  const doc = parse(readFileSync(`${root}config/samples/${file}`, 'utf8')) as { spec: unknown };
  return {
    apiVersion: 'custos.dev/v1alpha1',
    kind: 'KmsCluster',
    metadata: { name, namespace: 'vault', uid: '1111-2222', generation: 1 },
    spec: KmsClusterSpecSchema.parse(doc.spec),
  };
}

const sample = cluster('kmscluster.yaml');
const prod = cluster('kmscluster-production.yaml', 'custody-prod');

type Pod = {
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean };
  containers: { name: string; securityContext?: Record<string, unknown> }[];
};

function assertHardened(pod: Pod, what: string): void {
  assert.equal(pod.automountServiceAccountToken, false, `${what}: service-account token mounted`);
  assert.equal(pod.securityContext?.runAsNonRoot, true, `${what}: pod may run as root`);
  for (const ctr of pod.containers) {
    assert.equal(ctr.securityContext?.readOnlyRootFilesystem, true, `${what}/${ctr.name}: writable root`);
    assert.equal(ctr.securityContext?.allowPrivilegeEscalation, false, `${what}/${ctr.name}: privilege escalation`);
    assert.deepEqual((ctr.securityContext?.capabilities as { drop: string[] }).drop, ['ALL']);
  }
}

test('desired state: per node a StatefulSet, headless Service and Certificate; one of each cluster-wide object', () => {
  const objs = desiredObjects(sample, 'custos-system');
  const count = (kind: string) => objs.filter((o) => o.kind === kind).length;
  assert.equal(count('StatefulSet'), 4);
  assert.equal(count('Certificate'), 4 + 1 + 1, 'four nodes, the gateway and the bootstrapped CA');
  assert.equal(count('Issuer'), 2, 'self-signed bootstrap issuer and CA issuer');
  assert.equal(count('Service'), 6, 'four nodes, the gateway API and the console');
  assert.equal(count('Deployment'), 1);
  assert.equal(count('NetworkPolicy'), 4);
  assert.equal(count('PodDisruptionBudget'), 1);
  assert.equal(count('CronJob'), 4);
  for (const o of objs) {
    assert.equal(o.metadata.namespace, 'vault');
    // Stateful objects outlive the cluster: the gateway database volume has no owner.
    if (o.kind === 'PersistentVolumeClaim') continue;
    const refs = (o.metadata as { ownerReferences?: { uid: string; controller: boolean }[] }).ownerReferences;
    assert.deepEqual(
      refs?.map((r) => [r.uid, r.controller]),
      [['1111-2222', true]],
      `${o.kind}/${o.metadata.name} lacks its owner reference`,
    );
  }
  // A user-supplied issuer means no bootstrap CA, and no backups without a backup spec.
  const prodObjs = desiredObjects(prod, 'custos-system');
  assert.equal(prodObjs.filter((o) => o.kind === 'Issuer').length, 0);
  assert.equal(prodObjs.filter((o) => o.kind === 'CronJob').length, 0);
  assert.equal(prodObjs.filter((o) => o.kind === 'StatefulSet').length, 5);
});

test('node StatefulSet: one replica, own volume retained, hardened pod, password unseal from its own Secret', () => {
  const sts = nodeStatefulSet(sample, 'tss2');
  assert.equal(sts.metadata?.name, 'custody-tss2');
  assert.equal(sts.spec?.replicas, 1);
  assert.equal(sts.spec?.serviceName, 'custody-tss2');
  assert.deepEqual(sts.spec?.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(sts.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '2Gi');
  const pod = sts.spec!.template.spec!;
  assertHardened(pod as Pod, 'node');
  const env = Object.fromEntries(pod.containers[0]!.env!.map((e) => [e.name, e.value]));
  assert.equal(env.CUSTOS_NODE_ID, 'tss2');
  assert.equal(env.CUSTOS_UNSEAL_PASSWORD_FILE, '/etc/custos/unseal/password');
  assert.equal(pod.volumes?.find((v) => v.name === 'unseal')?.secret?.secretName, 'custody-unseal-tss2');
  assert.deepEqual(pod.containers[0]!.readinessProbe?.exec?.command, [
    'node',
    '/app/dist/operator/probes/node-ready.js',
  ]);
  const mounts = Object.fromEntries(
    pod.containers[0]!.volumeMounts!.map((m) => [m.mountPath, `${m.name}:${m.subPath ?? ''}`]),
  );
  assert.equal(mounts['/opt/kms/tss-server/data'], 'data:data');
  assert.equal(mounts['/opt/kms/tss-server/certs/tss2'], 'data:keys', 'the DEK directory is writable and persistent');
  assert.equal(mounts['/etc/custos/tls'], 'certs:', 'the certificate Secret is mounted whole');
  assert.equal(env.CUSTOS_TLS_DIR, '/etc/custos/tls');
  assert.equal(sts.spec?.selector.matchLabels?.['custos.dev/node-id'], 'tss2');
});

test('PKCS#11 unseal: a sidecar shares the KEK over a Unix socket on a memory-backed emptyDir', () => {
  const pod = nodeStatefulSet(prod, 'tss1').spec!.template.spec!;
  assertHardened(pod as Pod, 'node+pkcs11');
  assert.deepEqual(
    pod.containers.map((c) => c.name),
    ['node', 'pkcs11'],
  );
  const sock = pod.volumes?.find((v) => v.name === 'kek-socket');
  assert.equal(sock?.emptyDir?.medium, 'Memory');
  const nodeEnv = pod.containers[0]!.env!.map((e) => e.name);
  assert.ok(nodeEnv.includes('CUSTOS_KEK_SOCKET'));
  assert.ok(!nodeEnv.includes('CUSTOS_UNSEAL_PASSWORD_FILE'));
  assert.ok(!pod.containers[0]!.volumeMounts!.some((m) => m.name === 'hsm-pin'), 'the PIN stays in the sidecar');
  assert.deepEqual(pod.containers[1]!.command?.slice(-1), ['/app/dist/node/kek-sidecar/main.js']);
  assert.equal(pod.topologySpreadConstraints?.[0]?.topologyKey, 'topology.kubernetes.io/zone');
});

test('headless node Service exposes gRPC 9000 only', () => {
  const svc = nodeService(sample, 'tss1');
  assert.equal(svc.spec?.clusterIP, 'None');
  assert.deepEqual(
    svc.spec?.ports?.map((p) => p.port),
    [9000],
  );
});

test('certificates: node id in CN and SANs, server and client auth', () => {
  const cert = nodeCertificate(sample, 'tss3');
  assert.equal(cert.spec?.commonName, 'tss3');
  assert.equal(cert.spec?.dnsNames?.[0], 'tss3');
  assert.ok(cert.spec?.dnsNames?.includes('custody-tss3.vault.svc'));
  assert.ok(cert.spec?.usages?.includes('server auth') && cert.spec?.usages?.includes('client auth'));
  assert.deepEqual(cert.spec?.issuerRef, { name: 'custody-ca', kind: 'Issuer', group: 'cert-manager.io' });
  assert.deepEqual(nodeCertificate(prod, 'tss1').spec?.issuerRef, {
    name: 'corporate-ca',
    kind: 'ClusterIssuer',
    group: 'cert-manager.io',
  });
  assert.equal(gatewayCertificate(sample).spec?.commonName, 'gateway');
});

test('rotating Secrets are never mounted with subPath (the kubelet would never update them)', () => {
  for (const c of [sample, prod]) {
    const pods = [nodeStatefulSet(c, 'tss1').spec!.template.spec!, gatewayDeployment(c).spec!.template.spec!];
    for (const pod of pods) {
      const secretVolumes = new Set((pod.volumes ?? []).filter((v) => v.secret).map((v) => v.name));
      for (const ctr of pod.containers)
        for (const m of ctr.volumeMounts ?? [])
          assert.ok(
            !(secretVolumes.has(m.name) && m.subPath),
            `${ctr.name} mounts Secret volume ${m.name} with subPath`,
          );
    }
  }
});

test('the node loads its TLS files from the mounted Secret, the way cert-manager writes them', async () => {
  const { loadNodeConfig } = await import('../../node/config.ts');
  const { secretTlsPaths } = await import('../../common/pki/tls-files.ts');
  const container = nodeStatefulSet(sample, 'tss1').spec!.template.spec!.containers[0]!;
  const env = Object.fromEntries(container.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  const config = loadNodeConfig(env);
  const mount = container.volumeMounts!.find((m) => m.name === 'certs')!;
  assert.deepEqual(secretTlsPaths(config.tlsDir!), {
    ca: `${mount.mountPath}/ca.crt`,
    cert: `${mount.mountPath}/tls.crt`,
    key: `${mount.mountPath}/tls.key`,
  });
});

test('certificates carry the identity the mTLS checks accept, scoped to their KmsCluster', () => {
  const [nodeUri] = nodeCertificate(sample, 'tss3').spec?.uris ?? [];
  const [gatewayUri] = gatewayCertificate(sample).spec?.uris ?? [];
  const node = parseSpiffeId(nodeUri!);
  const gateway = parseSpiffeId(gatewayUri!);
  assert.deepEqual(node, { namespace: 'vault', cluster: 'custody', kind: 'node', id: 'tss3' });
  assert.equal(peerMismatch(gateway, node, { kind: 'node', id: 'tss3' }), undefined);
  assert.equal(peerMismatch(node, gateway, { kind: 'gateway' }), undefined);
  // Another KmsCluster under the same (Cluster)Issuer: its gateway cannot drive our nodes.
  const otherGateway = parseSpiffeId(gatewayCertificate(prod).spec!.uris![0]!);
  assert.match(peerMismatch(node, otherGateway, { kind: 'gateway' }) ?? '', /not a member of vault\/custody/);
});

test('gateway Deployment: hardened, bootstrap credentials mounted from the operator Secret, node addresses', () => {
  const dep = gatewayDeployment(sample);
  const pod = dep.spec!.template.spec!;
  assertHardened(pod as Pod, 'gateway');
  const env = Object.fromEntries(pod.containers[0]!.env!.map((e) => [e.name, e.value]));
  assert.equal(
    env.CUSTOS_BOOTSTRAP_CREDENTIALS_FILE,
    '/etc/custos/bootstrap/operator.json,/etc/custos/bootstrap/admin.json',
  );
  assert.deepEqual(
    pod.volumes?.find((v) => v.name === 'bootstrap')?.projected?.sources?.map((s) => s.secret?.name),
    ['custody-operator-credentials', 'custody-admin-credentials', 'custody-console-admin'],
  );
  assert.equal(env.CUSTOS_CONSOLE_BOOTSTRAP_FILE, '/etc/custos/bootstrap/console-user.json');
  assert.equal(env.CUSTOS_GATEWAY_TLS, '1', 'the gateway serves HTTPS');
  assert.equal(pod.containers[0]!.readinessProbe?.httpGet?.scheme, 'HTTPS');
  assert.equal(dep.spec?.strategy?.type, 'Recreate', 'embedded SQLite has one writer');
  assert.equal(pod.volumes?.find((v) => v.name === 'state')?.persistentVolumeClaim?.claimName, 'custody-gateway-db');
  assert.equal(
    pod.containers[0]!.env!.find((e) => e.name === 'CUSTOS_GATEWAY_MASTER_KEY')?.valueFrom?.secretKeyRef?.name,
    'custody-gateway-master-key',
  );
  assert.deepEqual(
    pod.containers[0]!.env!.find((e) => e.name === 'CUSTOS_GATEWAY_AUDIT_KEY')?.valueFrom?.secretKeyRef,
    { name: 'custody-gateway-master-key', key: 'audit_key' },
    'every replica signs audit checkpoints with one shared key',
  );
  assert.equal(pod.containers[0]!.readinessProbe?.httpGet?.path, '/ready');
  assert.equal(
    nodeAddresses(sample),
    'tss1=custody-tss1.vault.svc:9000,tss2=custody-tss2.vault.svc:9000,tss3=custody-tss3.vault.svc:9000,tss4=custody-tss4.vault.svc:9000',
  );
  const prodEnv = gatewayDeployment(prod).spec!.template.spec!.containers[0]!.env!;
  assert.equal(prodEnv.find((e) => e.name === 'CUSTOS_DB_PASSWORD')?.valueFrom?.secretKeyRef?.name, 'custos-mysql');
});

test('gateway Deployment: replaced without dropping requests', () => {
  const pod = gatewayDeployment(sample).spec!.template.spec!;
  const drain = Number(pod.containers[0]!.env!.find((e) => e.name === 'CUSTOS_GATEWAY_DRAIN_SECONDS')?.value);
  assert.ok(drain >= 5, 'serves while the endpoints drop the pod');
  // The kubelet kills at the grace period: it must cover the drain and a whole sign session (30 s).
  assert.ok(pod.terminationGracePeriodSeconds! >= drain + 30);
  // A shared database: a new replica serves before an old one leaves, and is Ready a while first.
  const shared = gatewayDeployment(prod).spec!;
  assert.deepEqual(shared.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  assert.ok(shared.minReadySeconds! >= 5);
});

test('network policies: default deny; nodes accept only the gateway on TCP 9000 and have no egress', () => {
  const deny = defaultDenyPolicy(sample);
  assert.deepEqual(deny.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(deny.spec.ingress, undefined);
  assert.equal(deny.spec.egress, undefined);
  const nodes = nodePolicy(sample);
  assert.deepEqual(nodes.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(nodes.spec.egress, undefined, 'no egress rule at all');
  assert.deepEqual(nodes.spec.ingress, [
    {
      from: [
        {
          podSelector: {
            matchLabels: {
              'app.kubernetes.io/name': 'custos',
              'app.kubernetes.io/instance': 'custody',
              'app.kubernetes.io/component': 'gateway',
            },
          },
        },
      ],
      ports: [{ protocol: 'TCP', port: 9000 }],
    },
  ]);
});

test('gateway policy: ingress from allowed CIDRs, namespaces and the operator; egress to nodes, DNS, DB, Redis', () => {
  const p = gatewayPolicy(prod, 'custos-system');
  assert.deepEqual(p.spec.ingress?.[0]?.ports, [{ protocol: 'TCP', port: 8080 }]);
  assert.deepEqual(p.spec.ingress?.[0]?.from?.[0], {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } },
  });
  assert.equal(p.spec.ingress?.[0]?.from?.length, 2);
  assert.deepEqual(
    p.spec.egress?.map((e) => e.ports?.map((x) => `${x.protocol}/${x.port}`).join(',')),
    ['TCP/9000', 'UDP/53,TCP/53', 'TCP/3306', 'TCP/6379'],
  );
  assert.deepEqual(p.spec.egress?.[2]?.to, [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'databases' } },
      podSelector: { matchLabels: { app: 'mysql' } },
    },
  ]);
  const s = gatewayPolicy(sample, 'custos-system');
  assert.deepEqual(s.spec.ingress?.[0]?.from?.[0], { ipBlock: { cidr: '10.0.0.0/8' } });
  assert.equal(s.spec.egress?.length, 2, 'embedded database: nodes and DNS only');
});

test('console: its own Service and NetworkPolicy on 8880, open only to the console CIDRs and namespaces', () => {
  const withConsole = {
    ...sample,
    spec: KmsClusterSpecSchema.parse({
      ...sample.spec,
      gateway: { ...sample.spec.gateway, console: { allowedCIDRs: ['10.9.0.0/16'], allowedNamespaces: ['ops'] } },
    }),
  };
  const svc = consoleService(withConsole);
  assert.equal(svc.metadata?.name, 'custody-console');
  assert.deepEqual(svc.spec?.ports, [{ name: 'console', port: 8880, targetPort: 'console', protocol: 'TCP' }]);
  const ctr = gatewayDeployment(withConsole).spec!.template.spec!.containers[0]!;
  assert.deepEqual(
    ctr.ports?.find((p) => p.name === 'console'),
    { name: 'console', containerPort: 8880, protocol: 'TCP' },
  );
  const p = consolePolicy(withConsole);
  assert.deepEqual(p.spec.policyTypes, ['Ingress']);
  assert.deepEqual(p.spec.ingress, [
    {
      from: [
        { ipBlock: { cidr: '10.9.0.0/16' } },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } },
      ],
      ports: [{ protocol: 'TCP', port: 8880 }],
    },
  ]);
  // The API's clients are not the console's: the API policy never opens 8880.
  const api = gatewayPolicy(withConsole, 'custos-system');
  assert.ok(api.spec.ingress!.every((r) => r.ports!.every((port) => port.port !== 8880)));
  // By default nobody is let in (kubectl port-forward remains), and a disabled console has no objects.
  assert.equal(consolePolicy(sample).spec.ingress, undefined);
  const off = {
    ...sample,
    spec: KmsClusterSpecSchema.parse({
      ...sample.spec,
      gateway: { ...sample.spec.gateway, console: { enabled: false } },
    }),
  };
  const names = desiredObjects(off, 'custos-system').map((o) => `${o.kind}/${o.metadata.name}`);
  assert.ok(!names.includes('Service/custody-console') && !names.includes('NetworkPolicy/custody-console'));
  assert.equal(gatewayDeployment(off).spec!.template.spec!.containers[0]!.ports!.length, 1);
});

test('PodDisruptionBudget keeps a signing quorum', () => {
  assert.equal(nodeDisruptionBudget(sample).spec?.maxUnavailable, 1);
  assert.equal(nodeDisruptionBudget(prod).spec?.maxUnavailable, 1);
});

test('backup CronJob: per node, next to the node, read-only data, retention in the script', () => {
  const job = backupCronJob(sample, 'tss1')!;
  assert.equal(job.spec?.schedule, '0 2 * * *');
  const pod = job.spec!.jobTemplate.spec!.template.spec!;
  assertHardened(pod as Pod, 'backup');
  assert.equal(pod.volumes?.[0]?.persistentVolumeClaim?.claimName, 'data-custody-tss1-0');
  assert.equal(pod.volumes?.[0]?.persistentVolumeClaim?.readOnly, true);
  assert.match(backupScript('tss1', 7), /tail -n \+8/);
  assert.equal(backupCronJob(prod, 'tss1'), undefined);
});

test('unseal Secrets outlive the cluster: no owner reference, immutable', () => {
  const s = nodeUnsealSecret(sample, 'tss1', 'pw');
  assert.equal(s.metadata?.name, 'custody-unseal-tss1');
  assert.equal(s.metadata?.ownerReferences, undefined);
  assert.equal(s.immutable, true);
});

test('with the longest allowed name and 16 nodes, every generated name and label fits', () => {
  const longest: KmsCluster = {
    ...sample,
    metadata: { ...sample.metadata, name: 'c'.repeat(MAX_CLUSTER_NAME_LENGTH) },
    spec: { ...sample.spec, nodes: 16 },
  };
  const objs = desiredObjects(longest, 'custos-system') as unknown as {
    kind: string;
    metadata: { name: string; labels: Record<string, string> };
  }[];
  assert.ok(objs.some((o) => o.kind === 'CronJob'));
  for (const o of objs) {
    // CronJobs append 11 characters for their Jobs; a StatefulSet's revision-hash label appends 11.
    const limit = o.kind === 'CronJob' || o.kind === 'StatefulSet' ? 52 : 63;
    assert.ok(o.metadata.name.length <= limit, `${o.kind} ${o.metadata.name} is longer than ${limit}`);
    for (const [k, v] of Object.entries(o.metadata.labels)) assert.ok(v.length <= 63, `${o.kind} label ${k}=${v}`);
  }
  const tooLong = { ...longest, metadata: { ...longest.metadata, name: 'c'.repeat(MAX_CLUSTER_NAME_LENGTH + 1) } };
  assert.ok(backupCronJob(tooLong, 'tss16')!.metadata!.name!.length > 52, 'the limit is tight, not arbitrary');
});

test('operator credentials are a key-admin; the admin Secret has the shape of credentials.json', async () => {
  const { credentialsSecret, adminCredentialsSecret } = await import('./gateway.ts');
  const { BootstrapCredentialsSchema } = await import('../../gateway/config.ts');
  const { CredentialsFileSchema } = await import('../../common/api/schemas.ts');
  const op = credentialsSecret(sample, 'AKOP', 'x'.repeat(32)).stringData!;
  // What the gateway loads from the mounted file: the operator can manage keys, never sign.
  assert.deepEqual(BootstrapCredentialsSchema.parse(JSON.parse(op['credentials.json']!)).roles, ['key-admin']);
  const admin = adminCredentialsSecret(sample, 'AKADMIN', 'y'.repeat(32)).stringData!;
  assert.deepEqual(BootstrapCredentialsSchema.parse(JSON.parse(admin['credentials.json']!)).roles, ['admin']);
  assert.deepEqual(
    CredentialsFileSchema.parse({
      base_url: admin.base_url,
      access_key: admin.access_key,
      secret_key: admin.secret_key,
    }),
    {
      base_url: 'https://custody-gateway.vault.svc:8080',
      access_key: 'AKADMIN',
      secret_key: 'y'.repeat(32),
    },
  );
});

test('images: qualified references from registry and tag, pull secrets on every pod; unqualified refused', () => {
  const c: KmsCluster = {
    ...sample,
    spec: KmsClusterSpecSchema.parse({
      images: { registry: 'registry.corp:5000/custody', tag: '1.4.2', pullSecrets: [{ name: 'corp-pull' }] },
      backup: { destination: { claimName: 'backups' } },
    }),
  };
  const node = nodeStatefulSet(c, 'tss1').spec!.template.spec!;
  const gw = gatewayDeployment(c).spec!.template.spec!;
  assert.equal(node.containers[0]!.image, 'registry.corp:5000/custody/custos-node:1.4.2');
  assert.equal(gw.containers[0]!.image, 'registry.corp:5000/custody/custos-gateway:1.4.2');
  for (const pod of [node, gw, backupCronJob(c, 'tss1')!.spec!.jobTemplate.spec!.template.spec!])
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'corp-pull' }]);
  const defaults = KmsClusterSpecSchema.parse({});
  assert.equal(imageOf({ ...sample, spec: defaults }, 'node'), 'ghcr.io/custos-dev/custos-node:0.1.0');
  for (const bad of ['custos-node:0.1.0', 'ghcr.io/custos-dev/custos-node', 'ghcr.io/custos-dev/custos-node:latest'])
    assert.throws(() => KmsClusterSpecSchema.parse({ images: { node: bad } }), /registry\/path:tag|latest/, bad);
  assert.throws(() => KmsClusterSpecSchema.parse({ images: { tag: 'latest' } }));
});

test('node pods take extra volumes, mounts, tolerations, nodeSelector and affinity from the KmsCluster', () => {
  const c: KmsCluster = {
    ...sample,
    spec: KmsClusterSpecSchema.parse({
      nodePod: {
        volumes: [{ name: 'hsm-conf', configMap: { name: 'luna-client' } }],
        volumeMounts: [{ name: 'hsm-conf', mountPath: '/etc/luna', readOnly: true }],
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'custody', effect: 'NoSchedule' }],
        nodeSelector: { 'custos.dev/hsm': 'true' },
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
      },
    }),
  };
  const pod = nodeStatefulSet(c, 'tss2').spec!.template.spec!;
  assert.ok(pod.volumes?.some((v) => v.name === 'hsm-conf' && v.configMap?.name === 'luna-client'));
  assert.ok(pod.containers[0]!.volumeMounts?.some((m) => m.mountPath === '/etc/luna'));
  assert.equal(pod.tolerations?.[0]?.key, 'dedicated');
  assert.deepEqual(pod.nodeSelector, { 'custos.dev/hsm': 'true' });
  assert.ok(pod.affinity?.nodeAffinity);
});

test('PKCS#11 with a network HSM: the node policy allows egress to the HSM (and DNS) only', () => {
  const pkcs11 = (network?: unknown): KmsCluster => ({
    ...sample,
    spec: KmsClusterSpecSchema.parse({
      images: { pkcs11Sidecar: 'registry.corp/custos-pkcs11:1.0.0' },
      unseal: {
        mode: 'PKCS11',
        pkcs11: {
          modulePath: '/usr/lib/libCryptoki2.so',
          tokenLabel: 't',
          keyLabel: 'k',
          pinSecretRef: { name: 'pin' },
          network,
        },
      },
    }),
  });
  assert.equal(nodePolicy(pkcs11()).spec.egress, undefined, 'no network HSM: no egress at all');
  const egress = nodePolicy(pkcs11({ peer: { cidr: '10.20.0.5/32' }, port: 1792 })).spec.egress!;
  assert.deepEqual(egress[0], {
    to: [{ ipBlock: { cidr: '10.20.0.5/32' } }],
    ports: [{ protocol: 'TCP', port: 1792 }],
  });
  assert.deepEqual(
    egress[1]!.ports?.map((p) => p.port),
    [53, 53],
  );
  assert.equal(egress.length, 2);
});

/** A container's env as the kubelet would hand it over: Secret refs filled in, $(VAR) expanded. */
function resolveEnv(
  vars: { name: string; value?: string; valueFrom?: unknown }[],
  secrets: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of vars) {
    const raw = v.value ?? secrets[v.name];
    assert.ok(raw !== undefined, `no fixture for ${v.name}`);
    env[v.name] = raw.replace(/\$\(([A-Z_]+)\)/g, (_m, n: string) => env[n] ?? `$(${n})`);
  }
  return env;
}

test('env contract: builder output round-trips through the node and gateway loadConfig', async () => {
  const { loadNodeConfig } = await import('../../node/config.ts');
  const { loadConfig } = await import('../../gateway/config.ts');
  const node = nodeStatefulSet(prod, 'tss3').spec!.template.spec!.containers[0]!;
  const nodeConfig = loadNodeConfig(resolveEnv(node.env!, {}));
  assert.equal(nodeConfig.nodeId, 'tss3');
  assert.equal(nodeConfig.listen, '0.0.0.0:9000');
  assert.equal(nodeConfig.tlsDir, '/etc/custos/tls');
  assert.equal(
    nodeConfig.kekSocket ?? nodeConfig.passwordFile,
    prod.spec.unseal.mode === 'PKCS11' ? '/run/custos/kek.sock' : '/etc/custos/unseal/password',
  );

  const gw = gatewayDeployment(prod).spec!.template.spec!.containers[0]!;
  const gwEnv = resolveEnv(gw.env!, {
    CUSTOS_GATEWAY_MASTER_KEY: 'ab'.repeat(32),
    CUSTOS_GATEWAY_AUDIT_KEY: 'cd'.repeat(32),
    CUSTOS_DB_USER: 'custos',
    CUSTOS_DB_PASSWORD: 'pw',
    CUSTOS_REDIS_PASSWORD: 'rpw',
  });
  const config = loadConfig(gwEnv);
  assert.equal(config.port, 8080);
  assert.equal(config.tls, true);
  assert.deepEqual(config.algorithms, prod.spec.algorithms);
  assert.deepEqual(
    config.nodes.map((n) => n.id),
    ['tss1', 'tss2', 'tss3', 'tss4', 'tss5'],
  );
  assert.match(config.database.url ?? '', /^mysql:\/\/custos:pw@/);
  assert.equal(config.bootstrap_credentials_file?.split(',').length, 2);
  assert.equal(config.console.enabled, true);
  assert.equal(config.console.port, 8880);

  // The PKCS#11 sidecar of the production sample loads its env the same way.
  const { loadSidecarConfig } = await import('../../node/kek-sidecar/config.ts');
  const sidecar = nodeStatefulSet(prod, 'tss1').spec!.template.spec!.containers.find((x) => x.name === 'pkcs11');
  if (sidecar) assert.equal(loadSidecarConfig(resolveEnv(sidecar.env!, {})).nodeId, 'tss1');
  assert.equal(prod.spec.unseal.mode === 'PKCS11', !!sidecar);

  // A name the process does not read, or a value it refuses, fails when the desired state is built.
  const { checkedEnv, EnvContractError } = await import('./env.ts');
  const { NodeEnvSchema } = await import('../../common/config/env.ts');
  assert.throws(() => checkedEnv(NodeEnvSchema, [{ name: 'CUSTOS_NODEID', value: 'tss1' }]), EnvContractError);
  assert.throws(() => checkedEnv(NodeEnvSchema, [{ name: 'CUSTOS_NODE_ID', value: 'TSS 1' }]), /CUSTOS_NODE_ID/);
});
