import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KmsClusterSpecSchema, type KmsCluster } from '../api/v1alpha1/index.ts';
import { desiredObjects } from './index.ts';
import { nodeStatefulSet, nodeService, nodeUnsealSecret } from './node.ts';
import { gatewayDeployment, nodeAddresses } from './gateway.ts';
import { defaultDenyPolicy, gatewayPolicy, nodeDisruptionBudget, nodePolicy } from './policy.ts';
import { nodeCertificate, gatewayCertificate } from './certificates.ts';
import { backupCronJob, backupScript } from './backup.ts';

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
  assert.equal(count('Service'), 5);
  assert.equal(count('Deployment'), 1);
  assert.equal(count('NetworkPolicy'), 3);
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
  assert.equal(mounts['/opt/kms/tss-server/certs/tss2/tss2.cert'], 'certs:tls.crt');
  assert.equal(mounts['/opt/kms/tss-server/certs/ca.cert'], 'certs:ca.crt');
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

test('gateway Deployment: hardened, bootstrap credentials mounted from the operator Secret, node addresses', () => {
  const dep = gatewayDeployment(sample);
  const pod = dep.spec!.template.spec!;
  assertHardened(pod as Pod, 'gateway');
  const env = Object.fromEntries(pod.containers[0]!.env!.map((e) => [e.name, e.value]));
  assert.equal(env.CUSTOS_BOOTSTRAP_CREDENTIALS_FILE, '/etc/custos/bootstrap/credentials.json');
  assert.equal(pod.volumes?.find((v) => v.name === 'bootstrap')?.secret?.secretName, 'custody-operator-credentials');
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
