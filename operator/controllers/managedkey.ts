/**
 * Reconciles a ManagedKey through its cluster's gateway. Creation is idempotent twice over: the
 * gateway's Idempotency-Key (the resource uid) and a label lookup (<namespace>/<name>) before any
 * generate call, so a restart mid-creation never makes a second key.
 */
import {
  ManagedKeySpecSchema,
  type KmsCluster,
  type ManagedKey,
  type ManagedKeyStatus,
} from '../api/v1alpha1/index.ts';
import type { Key } from '../../common/api/schemas.ts';
import { createTlsFetch } from '../../common/http/tls-fetch.ts';
import { identityOfCertificate, peerMismatch } from '../../common/pki/identity.ts';
import { credentialsSecretName, gatewayEndpoint, gatewayTlsSecretName } from '../builders/meta.ts';
import { GatewayClient, GatewayError } from '../gateway-client.ts';
import { resourcePath } from '../kube/client.ts';
import { k8sTime, setCondition, type ConditionInput } from './conditions.ts';
import type { Context } from './context.ts';
import { writeStatus } from './kmscluster.ts';

export const ARCHIVE_FINALIZER = 'custos.dev/archive-key';

export const keyLabel = (k: ManagedKey): string => `${k.metadata.namespace}/${k.metadata.name}`;

/** Status mirrored from the gateway's view of the key. */
export function statusFromKey(k: ManagedKey, key: Key): Omit<ManagedKeyStatus, 'conditions' | 'observedGeneration'> {
  const chains = k.spec.chains;
  const addresses = chains
    ? Object.fromEntries(
        Object.entries(key.addresses).filter(([chain]) => chains.some((c) => c.toLowerCase() === chain.toLowerCase())),
      )
    : key.addresses;
  const phase = key.status === 'ACTIVE' ? 'Ready' : key.status === 'FROZEN' ? 'Frozen' : 'Archived';
  return {
    phase,
    keyId: key.key_id,
    address: key.address,
    addresses,
    publicKey: key.public_key,
    shardNodes: key.shard_nodes,
    keyStatus: key.status,
  };
}

/** Why the key cannot be made on this cluster, or undefined. */
export function clusterMismatch(k: ManagedKey, c: KmsCluster): string | undefined {
  if (k.spec.shardProperties.shardCount > c.spec.nodes)
    return `shardProperties.shardCount ${k.spec.shardProperties.shardCount} exceeds the cluster's ${c.spec.nodes} nodes`;
  if (!c.spec.algorithms.includes(k.spec.format.algoType))
    return `algorithm ${k.spec.format.algoType} is not enabled on cluster ${c.metadata.name} (${c.spec.algorithms.join(', ')})`;
  return undefined;
}

/**
 * The gateway client for a cluster: HTTPS to the address the operator derives itself (never one
 * read from the resource, which a tenant could point at their own server), trusting only the
 * cluster CA (ca.crt of the gateway's certificate Secret) and only a certificate that carries
 * this cluster's gateway identity. It signs with the operator's key-admin access key.
 */
export async function gatewayFor(ctx: Context, c: KmsCluster): Promise<GatewayClient> {
  const secret = async (name: string) => {
    const s = await ctx.client.get<{ data?: Record<string, string> }>(
      resourcePath('v1', 'Secret', c.metadata.namespace, name),
    );
    return (k: string) => Buffer.from(s?.data?.[k] ?? '', 'base64').toString('utf8');
  };
  const read = await secret(credentialsSecretName(c));
  if (!read('access_key')) throw new Error(`Secret ${credentialsSecretName(c)} has no access_key yet`);
  const ca = (await secret(gatewayTlsSecretName(c)))('ca.crt');
  if (!ca) throw new Error(`Secret ${gatewayTlsSecretName(c)} has no ca.crt yet (certificate not issued)`);
  const scope = { namespace: c.metadata.namespace, cluster: c.metadata.name };
  const fetch = createTlsFetch({
    ca,
    checkServerIdentity: (_host, cert) => {
      try {
        const mismatch = peerMismatch(scope, identityOfCertificate(cert.raw), { kind: 'gateway' });
        return mismatch ? new Error(`gateway certificate refused: ${mismatch}`) : undefined;
      } catch (err) {
        return err as Error;
      }
    },
  });
  const baseUrl = ctx.gatewayUrl?.(c) ?? gatewayEndpoint(c);
  return new GatewayClient({ baseUrl, accessKey: read('access_key'), secretKey: read('secret_key'), fetch });
}

async function setFinalizers(ctx: Context, k: ManagedKey, finalizers: string[]): Promise<void> {
  await ctx.client.jsonPatch(resourcePath(k.apiVersion, k.kind, k.metadata.namespace, k.metadata.name), [
    { op: 'test', path: '/metadata/resourceVersion', value: k.metadata.resourceVersion },
    { op: 'add', path: '/metadata/finalizers', value: finalizers },
  ]);
}

export async function reconcileManagedKey(
  ctx: Context,
  ns: string,
  name: string,
): Promise<{ requeueAfterMs?: number } | void> {
  const raw = ctx.informers.managedkeys.get(name, ns) as unknown as ManagedKey | undefined;
  if (!raw) return;
  const now = k8sTime(new Date());
  const gen = raw.metadata.generation ?? 0;
  const report = async (extra: Partial<ManagedKeyStatus>, cond: ConditionInput) => {
    const conditions = setCondition(raw.status?.conditions ?? [], cond, gen, now);
    await writeStatus(ctx, raw, { ...raw.status, ...extra, observedGeneration: gen, conditions });
  };
  const k: ManagedKey = { ...raw, spec: ManagedKeySpecSchema.parse(raw.spec) };
  const finalizers = raw.metadata.finalizers ?? [];

  if (raw.metadata.deletionTimestamp) {
    if (!finalizers.includes(ARCHIVE_FINALIZER)) return;
    const keyId = raw.status?.keyId;
    const cluster = ctx.informers.kmsclusters.get(k.spec.clusterRef.name, ns) as unknown as KmsCluster | undefined;
    // Archive (never destroy) the key; with the cluster gone there is nothing left to archive through.
    if (keyId && cluster && k.spec.deletionPolicy === 'Archive') {
      const gw = await gatewayFor(ctx, cluster);
      await gw.setStatus(keyId, 'ARCHIVED', `ManagedKey ${keyLabel(k)} deleted`);
      await ctx.events(raw as never, 'Normal', 'Archived', `key ${keyId} archived`);
    }
    await setFinalizers(
      ctx,
      raw,
      finalizers.filter((f) => f !== ARCHIVE_FINALIZER),
    );
    return;
  }
  if (!finalizers.includes(ARCHIVE_FINALIZER)) {
    await setFinalizers(ctx, raw, [...finalizers, ARCHIVE_FINALIZER]);
    return; // the update event brings the next reconcile
  }

  const cluster = ctx.informers.kmsclusters.get(k.spec.clusterRef.name, ns) as unknown as KmsCluster | undefined;
  if (!cluster) {
    await report(
      { phase: 'Pending' },
      {
        type: 'Ready',
        status: 'False',
        reason: 'ClusterNotFound',
        message: `KmsCluster ${k.spec.clusterRef.name} not found in ${ns}`,
      },
    );
    return { requeueAfterMs: 30_000 };
  }
  const mismatch = clusterMismatch(k, cluster);
  if (mismatch) {
    await report({ phase: 'Failed' }, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: mismatch });
    return;
  }
  const gw = await gatewayFor(ctx, cluster);
  let key: Key;
  try {
    if (raw.status?.keyId) key = await gw.get(raw.status.keyId);
    else {
      const label = keyLabel(k);
      const found = await gw.findByLabel(label);
      if (!raw.status?.phase || raw.status.phase === 'Pending')
        await report(
          { phase: 'Creating' },
          { type: 'Ready', status: 'False', reason: 'Creating', message: 'generating the key through the gateway' },
        );
      key =
        found ??
        (await gw.generate(
          {
            format: { type: 'ECC', curve: k.spec.format.curve, algo_type: k.spec.format.algoType, size: 32 },
            shard_properties: {
              shard_count: k.spec.shardProperties.shardCount,
              threshold: k.spec.shardProperties.threshold,
            },
            label,
          },
          k.metadata.uid,
        ));
      ctx.log.info(
        { managedKey: label, keyId: key.key_id, adopted: Boolean(found) },
        found ? 'adopted existing key' : 'generated key',
      );
      await ctx.events(raw as never, 'Normal', found ? 'Adopted' : 'Generated', `key ${key.key_id} (${key.address})`);
    }
    if (key.status !== k.spec.keyStatus && key.status !== 'ARCHIVED') {
      key = await gw.setStatus(key.key_id, k.spec.keyStatus, `ManagedKey ${keyLabel(k)} spec.keyStatus`);
    }
  } catch (err) {
    if (err instanceof GatewayError && err.status < 500 && err.status !== 429) {
      await report({ phase: 'Failed' }, { type: 'Ready', status: 'False', reason: err.code, message: err.message });
      return;
    }
    await report({}, { type: 'Ready', status: 'False', reason: 'GatewayUnavailable', message: (err as Error).message });
    throw err;
  }
  const mirrored = statusFromKey(k, key);
  await report(mirrored, {
    type: 'Ready',
    status: key.status === 'ACTIVE' ? 'True' : 'False',
    reason: key.status === 'ACTIVE' ? 'Active' : key.status === 'FROZEN' ? 'Frozen' : 'Archived',
    message: `key ${key.key_id} is ${key.status}`,
  });
  return { requeueAfterMs: 300_000 };
}
