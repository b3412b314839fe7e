/** Pure status computation for a KmsCluster from what its owned objects report. */
import type { Condition, KmsCluster, KmsClusterStatus } from '../api/v1alpha1/index.ts';
import {
  adminCredentialsSecretName,
  caName,
  credentialsSecretName,
  gatewayEndpoint,
  gatewayName,
  nodeIds,
  nodeName,
} from '../builders/meta.ts';
import { setConditions, type ConditionInput } from './conditions.ts';

export interface Observed {
  statefulSets: Map<string, { status?: { readyReplicas?: number } }>;
  deployment?: { status?: { readyReplicas?: number } };
  certificates: Map<
    string,
    {
      status?: {
        conditions?: { type: string; status: string; message?: string }[];
        notAfter?: string;
        notBefore?: string;
        renewalTime?: string;
      };
    }
  >;
  /** cert-manager's CRDs are not installed: certificates cannot be requested at all. */
  certManagerMissing: boolean;
  backupJobs: number;
  /** Progress of the one-node-at-a-time rollout (operator/controllers/rollout.ts). */
  rollout?: ConditionInput;
}

function certReady(o: Observed, name: string): boolean {
  return o.certificates.get(name)?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function clusterStatus(c: KmsCluster, o: Observed, now: string): KmsClusterStatus {
  const ids = nodeIds(c);
  const nodes = ids.map((id) => {
    const ready = (o.statefulSets.get(nodeName(c, id))?.status?.readyReplicas ?? 0) >= 1;
    return { id, ready, pod: `${nodeName(c, id)}-0` };
  });
  const readyNodes = nodes.filter((n) => n.ready).length;
  const certNames = [...(c.spec.tls.issuerRef ? [] : [caName(c)]), ...ids.map((id) => nodeName(c, id)), gatewayName(c)];
  const pendingCerts = certNames.filter((n) => !certReady(o, n));
  const gatewayReady = o.deployment?.status?.readyReplicas ?? 0;
  const quorum = c.spec.keyDefaults.threshold;

  const certs: ConditionInput = o.certManagerMissing
    ? {
        type: 'CertificatesReady',
        status: 'False',
        reason: 'CertManagerMissing',
        message: 'cert-manager CRDs (cert-manager.io/v1) are not installed',
      }
    : pendingCerts.length
      ? {
          type: 'CertificatesReady',
          status: 'False',
          reason: 'Issuing',
          message: `waiting for certificates: ${pendingCerts.join(', ')}`,
        }
      : {
          type: 'CertificatesReady',
          status: 'True',
          reason: 'Issued',
          message: `${certNames.length} certificates issued`,
        };
  const nodesCond: ConditionInput =
    readyNodes === ids.length
      ? {
          type: 'NodesReady',
          status: 'True',
          reason: 'AllNodesReady',
          message: `${readyNodes}/${ids.length} nodes unsealed and ready`,
        }
      : {
          type: 'NodesReady',
          status: 'False',
          reason: readyNodes >= quorum ? 'Degraded' : 'NotReady',
          message: `${readyNodes}/${ids.length} nodes ready (not ready: ${nodes
            .filter((n) => !n.ready)
            .map((n) => n.id)
            .join(', ')})`,
        };
  const gw: ConditionInput =
    gatewayReady >= 1
      ? {
          type: 'GatewayReady',
          status: 'True',
          reason: 'Available',
          message: `${gatewayReady}/${c.spec.gateway.replicas} replicas ready`,
        }
      : {
          type: 'GatewayReady',
          status: 'False',
          reason: 'Unavailable',
          message: `0/${c.spec.gateway.replicas} replicas ready`,
        };
  const backup: ConditionInput = c.spec.backup
    ? {
        type: 'BackupScheduled',
        status: 'True',
        reason: 'Scheduled',
        message: `${o.backupJobs} CronJobs on "${c.spec.backup.schedule}"`,
      }
    : { type: 'BackupScheduled', status: 'False', reason: 'NotConfigured', message: 'spec.backup is not set' };
  const allReady = certs.status === 'True' && nodesCond.status === 'True' && gw.status === 'True';
  const ready: ConditionInput = allReady
    ? { type: 'Ready', status: 'True', reason: 'Ready', message: 'cluster is ready to sign' }
    : {
        type: 'Ready',
        status: 'False',
        reason: [certs, nodesCond, gw].find((x) => x.status !== 'True')!.reason,
        message: [certs, nodesCond, gw]
          .filter((x) => x.status !== 'True')
          .map((x) => x.message)
          .join('; '),
      };
  const gen = c.metadata.generation ?? 0;
  const conditions: Condition[] = setConditions(
    c.status?.conditions ?? [],
    [ready, certs, nodesCond, gw, backup, ...(o.rollout ? [o.rollout] : [])],
    gen,
    now,
  );
  const certificates = certNames.map((name) => {
    const s = o.certificates.get(name)?.status;
    return {
      name,
      ready: certReady(o, name),
      ...(s?.notAfter ? { notAfter: s.notAfter } : {}),
      ...(s?.notBefore ? { lastRenewal: s.notBefore } : {}),
      ...(s?.renewalTime ? { renewalTime: s.renewalTime } : {}),
    };
  });
  const leaves = certificates.filter((x) => x.name !== caName(c));
  const earliest = (xs: (string | undefined)[]) =>
    xs.filter((x): x is string => !!x).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  const latest = (xs: (string | undefined)[]) =>
    xs.filter((x): x is string => !!x).sort((a, b) => Date.parse(b) - Date.parse(a))[0];
  const tls = {
    ...(earliest(leaves.map((x) => x.notAfter)) ? { earliestExpiry: earliest(leaves.map((x) => x.notAfter)) } : {}),
    ...(latest(leaves.map((x) => x.lastRenewal)) ? { lastRenewal: latest(leaves.map((x) => x.lastRenewal)) } : {}),
  };
  const phase = allReady
    ? 'Ready'
    : readyNodes >= quorum && gatewayReady >= 1
      ? 'Degraded'
      : readyNodes
        ? 'Progressing'
        : 'Pending';
  return {
    observedGeneration: gen,
    phase,
    conditions,
    nodes,
    readyNodes,
    gateway: { endpoint: gatewayEndpoint(c), readyReplicas: gatewayReady },
    accessKeySecret: credentialsSecretName(c),
    adminCredentialsSecret: adminCredentialsSecretName(c),
    certificates,
    tls,
  };
}
