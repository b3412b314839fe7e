/** Helpers for tests against the real API server: install CRDs, poll, act as kubelet and cert-manager. */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { pino } from 'pino';
import { KubeClient, KubeError, resourcePath, type KubeObject } from '../../../operator/kube/client.ts';
import { Operator, type OperatorOptions } from '../../../operator/manager.ts';
import type { ControlPlane } from './control-plane.ts';
import { eventually } from '../../support/eventually.ts';

export const ROOT = new URL('../../../', import.meta.url).pathname;

export function clientFor(cp: ControlPlane): { kc: KubeConfig; client: KubeClient } {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  return { kc, client: new KubeClient(kc) };
}

export function readYaml(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => d !== null);
}

/** Polls until `check` returns a value; fails with the last observation after the deadline. */
export { eventually };

export async function installCrds(client: KubeClient, files: string[]): Promise<void> {
  for (const f of files) for (const crd of readYaml(f)) await client.apply(crd, 'custos-test');
  for (const f of files)
    for (const crd of readYaml(f))
      await eventually(`CRD ${crd.metadata.name} established`, async () => {
        const live = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          resourcePath('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, crd.metadata.name),
        );
        return live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  await client.createIfAbsent({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, 'custos-test');
  // Pods need the namespace's default service account, which the controller manager creates.
  await eventually(`service account in ${name}`, () =>
    client.get(`/api/v1/namespaces/${name}/serviceaccounts/default`),
  );
}

/** The API server's answer to creating `obj`: undefined on success, else its error message. */
export async function refusal(client: KubeClient, obj: KubeObject): Promise<string | undefined> {
  try {
    await client.create(resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace), obj);
    await client.delete(resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name));
    return undefined;
  } catch (err) {
    if (err instanceof KubeError) return err.message;
    throw err;
  }
}

/** Marks a pod Running and Ready, as the kubelet would once the containers pass readiness. */
export async function markPodReady(client: KubeClient, ns: string, name: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.mergePatch(`/api/v1/namespaces/${ns}/pods/${name}/status`, {
    status: {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastTransitionTime: now },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: 'True', lastTransitionTime: now },
      ],
    },
  });
}

/** Marks a cert-manager Certificate Ready, as cert-manager would once it has issued. */
export async function markCertificateReady(client: KubeClient, ns: string, name: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.mergePatch(`/apis/cert-manager.io/v1/namespaces/${ns}/certificates/${name}/status`, {
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'issued', lastTransitionTime: now }],
    },
  });
}

export function startOperator(cp: ControlPlane, identity: string, extra: Partial<OperatorOptions> = {}): Operator {
  const { kc } = clientFor(cp);
  const op = new Operator({
    kc,
    log: pino({ level: process.env.CUSTOS_TEST_LOG ?? 'silent' }),
    namespace: 'custos-system',
    identity,
    leaseDurationSeconds: 4,
    renewEveryMs: 500,
    resyncMs: 60_000,
    ...extra,
  });
  op.start();
  return op;
}

export type Condition = { type: string; status: string; reason: string; message: string; observedGeneration?: number };

export function condition(obj: KubeObject | undefined, type: string): Condition | undefined {
  return ((obj?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
}
