/** Reconciles a KmsCluster: bootstrap Secrets, apply every owned object, prune, report status. */
import { randomBytes } from 'node:crypto';
import { KmsClusterSpecSchema, type KmsCluster, type KmsClusterStatus } from '../api/v1alpha1/index.ts';
import { desiredObjects } from '../builders/index.ts';
import { base32 } from '@scure/base';
import { adminCredentialsSecret, consoleAdminSecret, credentialsSecret, masterKeySecret } from '../builders/gateway.ts';
import { credentialsSecretName, FIELD_MANAGER, nodeIds, nodeName, gatewayName } from '../builders/meta.ts';
import { nodeUnsealSecret, operatorGeneratesUnsealSecrets } from '../builders/node.ts';
import { KubeError, resourcePath, type KubeObject } from '../kube/client.ts';
import { clusterStatus } from './cluster-status.ts';
import { k8sTime, setCondition, transitions, type ConditionInput } from './conditions.ts';
import { nodeRollout, planRollout, rolloutCondition } from './rollout.ts';
import type { Context } from './context.ts';

const PRUNABLE = [
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'cert-manager.io/v1', kind: 'Issuer' },
  { apiVersion: 'cert-manager.io/v1', kind: 'Certificate' },
];

/** JSON with sorted keys, to compare a computed status with the stored one. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );
}

async function bootstrapSecrets(ctx: Context, c: KmsCluster): Promise<void> {
  const accessKey = `AK${randomBytes(10).toString('hex').toUpperCase()}`;
  const created = await ctx.client.createIfAbsent(
    credentialsSecret(c, accessKey, randomBytes(32).toString('base64url')),
    FIELD_MANAGER,
  );
  if (created)
    ctx.log.info({ cluster: c.metadata.name, secret: credentialsSecretName(c) }, 'created operator access key');
  await ctx.client.createIfAbsent(
    adminCredentialsSecret(
      c,
      `AK${randomBytes(10).toString('hex').toUpperCase()}`,
      randomBytes(32).toString('base64url'),
    ),
    FIELD_MANAGER,
  );
  // Always created, so enabling the console later finds its first user waiting.
  await ctx.client.createIfAbsent(
    consoleAdminSecret(c, randomBytes(18).toString('base64url'), base32.encode(randomBytes(20)).replace(/=+$/, '')),
    FIELD_MANAGER,
  );
  await ctx.client.createIfAbsent(
    masterKeySecret(c, randomBytes(32).toString('hex'), randomBytes(32).toString('hex')),
    FIELD_MANAGER,
  );
  if (!operatorGeneratesUnsealSecrets(c)) return;
  for (const id of nodeIds(c))
    await ctx.client.createIfAbsent(nodeUnsealSecret(c, id, randomBytes(32).toString('base64url')), FIELD_MANAGER);
}

async function prune(ctx: Context, c: KmsCluster, desired: Set<string>): Promise<void> {
  const selector = encodeURIComponent(
    `app.kubernetes.io/instance=${c.metadata.name},app.kubernetes.io/managed-by=${FIELD_MANAGER}`,
  );
  for (const t of PRUNABLE) {
    let items: KubeObject[];
    try {
      items = (
        await ctx.client.list(resourcePath(t.apiVersion, t.kind, c.metadata.namespace), `labelSelector=${selector}`)
      ).items;
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) continue; // kind not installed
      throw err;
    }
    for (const o of items) {
      const owned = o.metadata.ownerReferences?.some((r) => r.uid === c.metadata.uid);
      if (!owned || desired.has(`${t.kind}/${o.metadata.name}`)) continue;
      await ctx.client.delete(resourcePath(t.apiVersion, t.kind, c.metadata.namespace, o.metadata.name));
      ctx.log.info({ cluster: c.metadata.name, kind: t.kind, name: o.metadata.name }, 'pruned');
    }
  }
}

export async function reconcileKmsCluster(ctx: Context, ns: string, name: string): Promise<void> {
  const raw = ctx.informers.kmsclusters.get(name, ns) as unknown as KmsCluster | undefined;
  if (!raw || raw.metadata.deletionTimestamp) return; // owned objects go with it (owner references)
  const now = k8sTime(new Date());
  const parsed = KmsClusterSpecSchema.safeParse(raw.spec);
  if (!parsed.success) {
    const conditions = setCondition(
      raw.status?.conditions ?? [],
      {
        type: 'Ready',
        status: 'False',
        reason: 'InvalidSpec',
        message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      },
      raw.metadata.generation ?? 0,
      now,
    );
    await writeStatus(ctx, raw, { ...raw.status, observedGeneration: raw.metadata.generation, conditions });
    return;
  }
  const c: KmsCluster = { ...raw, spec: parsed.data };
  try {
    await applyCluster(ctx, c, now);
  } catch (err) {
    // A failed apply must not leave a stale Ready=True behind: report it, then retry with backoff.
    const message = err instanceof Error ? err.message : String(err);
    const conditions = setCondition(
      raw.status?.conditions ?? [],
      { type: 'Ready', status: 'False', reason: 'ReconcileFailed', message: message.slice(0, 2000) },
      raw.metadata.generation ?? 0,
      now,
    );
    await writeStatus(ctx, raw, { ...raw.status, observedGeneration: raw.metadata.generation, conditions }).catch(
      (e: Error) => ctx.log.warn({ err: e.message }, 'could not report the reconcile failure'),
    );
    await ctx.events(raw as unknown as KubeObject, 'Warning', 'ReconcileFailed', message.slice(0, 1000));
    throw err;
  }
}

async function applyCluster(ctx: Context, c: KmsCluster, now: string): Promise<void> {
  const ns = c.metadata.namespace;
  await bootstrapSecrets(ctx, c);

  let certManagerMissing = false;
  const desired = desiredObjects(c, ctx.namespace);
  for (const obj of desired) {
    if (certManagerMissing && obj.apiVersion.startsWith('cert-manager.io/')) continue;
    try {
      await ctx.client.apply(obj, FIELD_MANAGER);
      ctx.metrics.applies.inc({ kind: obj.kind });
    } catch (err) {
      if (err instanceof KubeError && err.status === 404 && obj.apiVersion.startsWith('cert-manager.io/')) {
        certManagerMissing = true;
        continue;
      }
      throw new Error(`apply ${obj.kind} ${obj.metadata.name}: ${(err as Error).message}`, { cause: err });
    }
  }
  await prune(ctx, c, new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`)));

  const byName = <T>(inf: { get(n: string, ns?: string): unknown }, names: string[]) =>
    new Map(names.map((n) => [n, inf.get(n, ns) as T]).filter(([, v]) => v !== undefined) as [string, T][]);
  const nodeNames = nodeIds(c).map((id) => nodeName(c, id));
  const statefulSets = byName<Parameters<typeof nodeRollout>[1] & object>(ctx.informers.statefulsets, nodeNames);
  const rollout = await rollNodes(ctx, c, statefulSets);
  const status = clusterStatus(
    c,
    {
      statefulSets,
      deployment: ctx.informers.deployments.get(gatewayName(c), ns) as never,
      certificates: byName(ctx.informers.certificates, [
        ...desired.filter((o) => o.kind === 'Certificate').map((o) => o.metadata.name),
      ]),
      certManagerMissing,
      backupJobs: desired.filter((o) => o.kind === 'CronJob').length,
      rollout,
    },
    now,
  );
  await writeStatus(ctx, c, status);
}

/** One step of the node rollout: restarts at most one outdated node pod (see rollout.ts). */
async function rollNodes(
  ctx: Context,
  c: KmsCluster,
  statefulSets: Map<string, Parameters<typeof nodeRollout>[1] & object>,
): Promise<ConditionInput> {
  const nodes = nodeIds(c).map((id) => nodeRollout(id, statefulSets.get(nodeName(c, id))));
  const step = planRollout(nodes);
  if (step.action === 'restart') {
    const pod = `${nodeName(c, step.node)}-0`;
    await ctx.client.delete(resourcePath('v1', 'Pod', c.metadata.namespace, pod));
    ctx.log.info({ cluster: c.metadata.name, node: step.node, reason: step.reason }, 'rolling node');
    await ctx.events(c as unknown as KubeObject, 'Normal', 'RollingNode', `restarting ${pod}: ${step.reason}`);
  }
  return rolloutCondition(nodes, step);
}

/** Writes status only when it changed, and records an Event per condition transition. */
export async function writeStatus(
  ctx: Context,
  obj: { apiVersion: string; kind: string; metadata: KmsCluster['metadata']; status?: unknown },
  status: KmsClusterStatus | Record<string, unknown>,
): Promise<boolean> {
  if (canonical(obj.status ?? {}) === canonical(status)) return false;
  await ctx.client.apply(
    {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace },
      status,
    } as never,
    FIELD_MANAGER,
    'status',
  );
  const before = (obj.status as { conditions?: [] } | undefined)?.conditions ?? [];
  const after = (status as { conditions?: [] }).conditions ?? [];
  for (const t of transitions(before, after)) {
    const type = t.status === 'True' || t.type === 'BackupScheduled' ? 'Normal' : 'Warning';
    await ctx.events(obj as unknown as KubeObject, type, t.reason, `${t.type} is ${t.status}: ${t.message}`);
  }
  return true;
}
