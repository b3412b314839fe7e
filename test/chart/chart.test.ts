/**
 * The Helm chart: `helm lint`, `helm template` with default and non-default values, and kubeconform
 * over the output, the samples and the operator's own rendered objects. kubeconform's schemas are
 * generated from a real API server (see support/schemas.ts); helm and kubeconform are built by
 * hack/kube/build.sh.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { binary, startControlPlane, type ControlPlane } from '../kube/support/control-plane.ts';
import { clientFor, eventually, installCrds, readYaml, ROOT } from '../kube/support/kube.ts';
import { exportSchemas, SCHEMA_LOCATION } from './support/schemas.ts';
import { RESOURCES, KmsClusterSpecSchema, type KmsCluster } from '../../operator/api/v1alpha1/index.ts';
import { crdFileName } from '../../operator/crdgen.ts';
import { OPERATOR_NAMESPACE_RULES, OPERATOR_RULES } from '../../operator/rbac.ts';
import { desiredObjects } from '../../operator/builders/index.ts';

const run = promisify(execFile);
const CHART = join(ROOT, 'charts/custos');
let cp: ControlPlane;
let work: string;
let schemas: string;

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

async function helm(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(binary('helm'), args, {
    env: { ...process.env, HELM_CACHE_HOME: join(work, 'helm-cache'), HELM_CONFIG_HOME: join(work, 'helm-config') },
  });
}

async function template(values: Record<string, unknown> = {}): Promise<Doc[]> {
  const file = join(work, `values-${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(file, stringify(values));
  const { stdout } = await helm(
    'template',
    'custos',
    CHART,
    '--namespace',
    'custos-system',
    '--kube-version',
    '1.30.0',
    '--include-crds',
    '-f',
    file,
  );
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** kubeconform over files; resolves with its JSON report, rejects on a tool failure. */
async function kubeconform(...files: string[]): Promise<{
  summary: { valid: number; invalid: number; errors: number; skipped: number };
  resources: { msg: string; status: string }[];
}> {
  const args = ['-output', 'json', '-summary', '-schema-location', join(schemas, SCHEMA_LOCATION), ...files];
  const r = await run(binary('kubeconform'), args).catch((e: { stdout?: string; code?: number }) => {
    if (e.code === 1 && e.stdout) return { stdout: e.stdout }; // exit 1: some resources invalid
    throw e;
  });
  return JSON.parse(r.stdout);
}

const writeDocs = (name: string, docs: unknown[]): string => {
  const file = join(work, name);
  writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
  return file;
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'custos-chart-'));
  schemas = join(work, 'schemas');
  binary('helm');
  binary('kubeconform');
  cp = await startControlPlane();
  const { client } = clientFor(cp);
  await installCrds(client, [
    ...RESOURCES.map((r) => join(ROOT, 'crds', crdFileName(r))),
    join(ROOT, 'test/kube/fixtures/cert-manager-crds.yaml'),
  ]);
  // The API server publishes a CRD's OpenAPI a moment after the CRD is established.
  await eventually('CRD OpenAPI published', async () => {
    const paths = Object.keys(((await cp.get('/openapi/v3')).body as { paths: object }).paths);
    return paths.includes('apis/custos.dev/v1alpha1') && paths.includes('apis/cert-manager.io/v1');
  });
  await eventually('CRD schemas exported', async () => {
    await exportSchemas(cp, schemas);
    const r = await kubeconform(join(ROOT, 'config/samples/kmscluster.yaml'));
    return r.summary.valid === 1;
  });
});

afterAll(async () => {
  await cp?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('helm lint --strict passes', async () => {
  const { stdout } = await helm('lint', '--strict', CHART);
  assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('default values render a hardened operator with least-privilege RBAC and our CRDs', async () => {
  const docs = await template();
  const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    'ClusterRole/custos',
    'ClusterRoleBinding/custos',
    'CustomResourceDefinition/keyrotations.custos.dev',
    'CustomResourceDefinition/kmsclusters.custos.dev',
    'CustomResourceDefinition/managedkeys.custos.dev',
    'Deployment/custos',
    'Role/custos-leader-election',
    'RoleBinding/custos-leader-election',
    'Service/custos-metrics',
    'ServiceAccount/custos',
  ]);
  const dep = docs.find((d) => d.kind === 'Deployment') as unknown as {
    spec: {
      replicas: number;
      template: {
        spec: {
          securityContext: { runAsNonRoot: boolean };
          containers: { image: string; securityContext: Record<string, unknown> }[];
        };
      };
    };
  };
  assert.equal(dep.spec.replicas, 2);
  assert.equal(dep.spec.template.spec.securityContext.runAsNonRoot, true);
  assert.equal(dep.spec.template.spec.containers[0]!.image, 'custos-operator:0.1.0');
  assert.equal(dep.spec.template.spec.containers[0]!.securityContext.readOnlyRootFilesystem, true);
  const role = docs.find((d) => d.kind === 'ClusterRole') as unknown as { rules: unknown };
  assert.deepEqual(role.rules, OPERATOR_RULES, 'the chart grants exactly operator/rbac.ts OPERATOR_RULES');
  const nsRole = docs.find((d) => d.kind === 'Role') as unknown as { rules: unknown; metadata: { namespace: string } };
  assert.deepEqual(nsRole.rules, OPERATOR_NAMESPACE_RULES);
  assert.equal(nsRole.metadata.namespace, 'custos-system');
  const report = await kubeconform(writeDocs('default.yaml', docs));
  assert.deepEqual(report.summary, { valid: 10, invalid: 0, errors: 0, skipped: 0 }, JSON.stringify(report.resources));
});

test('non-default values: existing service account, no RBAC or metrics service, pinned image', async () => {
  const docs = await template({
    replicaCount: 3,
    image: { repository: 'registry.example.com/custos-operator', tag: '1.2.3', pullPolicy: 'Always' },
    serviceAccount: { create: false, name: 'platform-operator' },
    rbac: { create: false },
    metrics: { port: 9090, service: { enabled: false } },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'custody', effect: 'NoSchedule' }],
    logLevel: 'debug',
  });
  const kinds = docs.filter((d) => d.kind !== 'CustomResourceDefinition').map((d) => d.kind);
  assert.deepEqual(kinds, ['Deployment']);
  const dep = docs.find((d) => d.kind === 'Deployment') as unknown as {
    spec: {
      replicas: number;
      template: {
        spec: {
          serviceAccountName: string;
          nodeSelector: object;
          containers: { image: string; ports: { containerPort: number }[]; env: { name: string; value?: string }[] }[];
        };
      };
    };
  };
  assert.equal(dep.spec.replicas, 3);
  assert.equal(dep.spec.template.spec.serviceAccountName, 'platform-operator');
  assert.equal(dep.spec.template.spec.containers[0]!.image, 'registry.example.com/custos-operator:1.2.3');
  assert.equal(dep.spec.template.spec.containers[0]!.ports[0]!.containerPort, 9090);
  assert.equal(dep.spec.template.spec.containers[0]!.env.find((e) => e.name === 'LOG_LEVEL')?.value, 'debug');
  const report = await kubeconform(writeDocs('custom.yaml', docs));
  assert.equal(report.summary.invalid + report.summary.errors, 0, JSON.stringify(report.resources));
});

test('values.schema.json refuses invalid values', async () => {
  const err = await template({ replicaCount: 0 }).then(
    () => 'accepted',
    (e: Error) => e.message,
  );
  assert.match(err, /replicaCount/);
  const typo = await template({ replicas: 2 }).then(
    () => 'accepted',
    (e: Error) => e.message,
  );
  assert.match(typo, /replicas/);
});

test('kubeconform validates the samples against the CRDs and the operator output against the API', async () => {
  const samples = ['kmscluster.yaml', 'kmscluster-production.yaml', 'managedkey.yaml', 'keyrotation.yaml'].map((f) =>
    join(ROOT, 'config/samples', f),
  );
  const s = await kubeconform(...samples);
  assert.deepEqual(s.summary, { valid: 4, invalid: 0, errors: 0, skipped: 0 }, JSON.stringify(s.resources));

  const objects = ['kmscluster.yaml', 'kmscluster-production.yaml'].flatMap((f) => {
    const doc = readYaml(join(ROOT, 'config/samples', f))[0]!;
    const c: KmsCluster = {
      apiVersion: 'custos.dev/v1alpha1',
      kind: 'KmsCluster',
      metadata: {
        name: doc.metadata.name,
        namespace: 'vault',
        uid: '00000000-0000-0000-0000-000000000001',
        generation: 1,
      },
      spec: KmsClusterSpecSchema.parse(doc.spec),
    };
    return desiredObjects(c, 'custos-system');
  });
  const o = await kubeconform(writeDocs('operator-objects.yaml', objects));
  assert.deepEqual(
    o.summary,
    { valid: objects.length, invalid: 0, errors: 0, skipped: 0 },
    JSON.stringify(o.resources),
  );

  // The check has teeth: a misspelt field and a bad enum are reported.
  const broken = writeDocs('broken.yaml', [
    { ...readYaml(samples[2]!)[0]!, spec: { clusterRef: { name: 'custody' }, keyStatuz: 'ACTIVE' } },
    { ...readYaml(samples[0]!)[0]!, spec: { nodes: 4, unseal: { mode: 'Magic' } } },
  ]);
  const b = await kubeconform(broken);
  assert.equal(b.summary.invalid, 2, JSON.stringify(b.resources));
  assert.match(JSON.stringify(b.resources), /keyStatuz/);
});
