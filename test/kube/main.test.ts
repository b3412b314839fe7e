/**
 * The operator entrypoint (operator/main.ts) as real processes: two replicas, the leader is
 * SIGKILLed (no lease release, as in a crash) and the standby takes over once the lease expires.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startControlPlane, type ControlPlane } from './support/control-plane.ts';
import { clientFor, condition, ensureNamespace, eventually, installCrds, readYaml, ROOT } from './support/kube.ts';
import type { KubeClient } from '../../operator/kube/client.ts';
import { RESOURCES } from '../../operator/api/v1alpha1/index.ts';
import { crdFileName } from '../../operator/crdgen.ts';

let cp: ControlPlane;
let client: KubeClient;
const procs = new Map<string, { child: ChildProcess; port: number; output: string[] }>();

async function launch(name: string): Promise<void> {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'operator/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      KUBECONFIG: cp.kubeconfigPath,
      POD_NAMESPACE: 'custos-system',
      POD_NAME: name,
      METRICS_PORT: String(port),
      LEASE_DURATION_SECONDS: '5',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (d: Buffer) => output.push(d.toString()));
  procs.set(name, { child, port, output });
}

const holder = async () =>
  (
    (await client.get('/apis/coordination.k8s.io/v1/namespaces/custos-system/leases/custos-operator')) as
      { spec?: { holderIdentity?: string } } | undefined
  )?.spec?.holderIdentity;
const metrics = async (name: string) => (await fetch(`http://127.0.0.1:${procs.get(name)!.port}/metrics`)).text();

beforeAll(async () => {
  cp = await startControlPlane();
  client = clientFor(cp).client;
  await installCrds(client, [
    ...RESOURCES.map((r) => join(ROOT, 'crds', crdFileName(r))),
    join(ROOT, 'test/kube/fixtures/cert-manager-crds.yaml'),
  ]);
  await ensureNamespace(client, 'custos-system');
  await ensureNamespace(client, 'vault');
});

afterAll(async () => {
  for (const { child } of procs.values()) if (child.exitCode === null) child.kill('SIGKILL');
  await cp?.stop();
});

test('two replicas: one leads; after the leader is killed the other takes over and reconciles', async () => {
  await launch('replica-a');
  await eventually('replica-a leads', async () => (await holder()) === 'replica-a', 60_000);
  await launch('replica-b');
  await eventually(
    'replica-b serves /readyz',
    async () => (await fetch(`http://127.0.0.1:${procs.get('replica-b')!.port}/readyz`)).ok,
    60_000,
  );
  assert.match(await metrics('replica-b'), /^custos_operator_leader 0$/m);
  assert.match(await metrics('replica-a'), /^custos_operator_leader 1$/m);
  assert.match(
    await metrics('replica-a'),
    /custos_operator_informer_seconds_since_last_event\{informer="kmsclusters"\}/,
  );

  procs.get('replica-a')!.child.kill('SIGKILL');
  await eventually('replica-b takes the expired lease', async () => (await holder()) === 'replica-b', 60_000);
  assert.match(await metrics('replica-b'), /^custos_operator_leader 1$/m);

  const sample = readYaml(join(ROOT, 'config/samples/kmscluster.yaml'))[0]!;
  await client.create('/apis/custos.dev/v1alpha1/namespaces/vault/kmsclusters', {
    ...sample,
    metadata: { ...sample.metadata, namespace: 'vault' },
  });
  const c = await eventually(
    'the new leader reconciles',
    async () => {
      const o = await client.get('/apis/custos.dev/v1alpha1/namespaces/vault/kmsclusters/custody');
      return condition(o, 'Ready') ? o : undefined;
    },
    60_000,
  );
  assert.equal(condition(c, 'Ready')?.status, 'False');
  // The reconcile that wrote Ready counts itself only after its status write returns: poll.
  await eventually('the reconcile is counted', async () =>
    /custos_operator_reconcile_total\{kind="KmsCluster",result="success"\} [1-9]/.test(await metrics('replica-b')),
  );
  await eventually('structured pino logs', async () =>
    /"msg":"leader election: became leader"/.test(procs.get('replica-b')!.output.join('')),
  );
});
