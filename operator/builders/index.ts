/** The desired state of a KmsCluster: every owned object, in apply order. */
import type { KmsCluster } from '../api/v1alpha1/index.ts';
import { backupCronJob } from './backup.ts';
import { caCertificate, caIssuer, gatewayCertificate, nodeCertificate, selfSignedIssuer } from './certificates.ts';
import { consoleService, gatewayDatabaseClaim, gatewayDeployment, gatewayService } from './gateway.ts';
import { nodeIds } from './meta.ts';
import { nodeService, nodeStatefulSet } from './node.ts';
import { consolePolicy, defaultDenyPolicy, gatewayPolicy, nodeDisruptionBudget, nodePolicy } from './policy.ts';

export interface Owned {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
}

/** Objects applied with server-side apply. Random Secrets are created separately, once. */
export function desiredObjects(c: KmsCluster, operatorNamespace: string): Owned[] {
  const list: unknown[] = [];
  if (!c.spec.tls.issuerRef) list.push(selfSignedIssuer(c), caCertificate(c), caIssuer(c));
  list.push(defaultDenyPolicy(c), nodePolicy(c), gatewayPolicy(c, operatorNamespace));
  if (c.spec.gateway.console.enabled) list.push(consolePolicy(c));
  for (const id of nodeIds(c)) list.push(nodeCertificate(c, id), nodeService(c, id), nodeStatefulSet(c, id));
  list.push(nodeDisruptionBudget(c), gatewayCertificate(c), gatewayService(c));
  if (c.spec.database.type === 'Embedded') list.push(gatewayDatabaseClaim(c));
  if (c.spec.gateway.console.enabled) list.push(consoleService(c));
  list.push(gatewayDeployment(c));
  for (const id of nodeIds(c)) {
    const job = backupCronJob(c, id);
    if (job) list.push(job);
  }
  return list as Owned[];
}
