/** The three custom resources, with what the CRD generator needs beyond the schemas. */
import type { z } from 'zod';
import { GROUP, VERSION } from './common.ts';
import { KmsClusterSpecSchema, KmsClusterStatusSchema, MAX_CLUSTER_NAME_LENGTH } from './kmscluster.ts';
import { ManagedKeySpecSchema, ManagedKeyStatusSchema } from './managedkey.ts';
import { KeyRotationSpecSchema, KeyRotationStatusSchema } from './keyrotation.ts';

export * from './common.ts';
export * from './kmscluster.ts';
export * from './managedkey.ts';
export * from './keyrotation.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean';
  jsonPath: string;
  priority?: number;
}

export interface ResourceDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
  /** Longest metadata.name whose generated object names and labels still fit (CEL on the root). */
  maxNameLength?: number;
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const ready: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};

export const RESOURCES: ResourceDefinition[] = [
  {
    kind: 'KmsCluster',
    plural: 'kmsclusters',
    singular: 'kmscluster',
    shortNames: ['kmsc'],
    spec: KmsClusterSpecSchema,
    status: KmsClusterStatusSchema,
    maxNameLength: MAX_CLUSTER_NAME_LENGTH,
    columns: [
      ready,
      { name: 'Nodes', type: 'integer', jsonPath: '.spec.nodes' },
      { name: 'Ready Nodes', type: 'integer', jsonPath: '.status.readyNodes' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Endpoint', type: 'string', jsonPath: '.status.gateway.endpoint', priority: 1 },
      age,
    ],
  },
  {
    kind: 'ManagedKey',
    plural: 'managedkeys',
    singular: 'managedkey',
    shortNames: ['mkey'],
    spec: ManagedKeySpecSchema,
    status: ManagedKeyStatusSchema,
    columns: [
      ready,
      { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterRef.name' },
      { name: 'Algo', type: 'string', jsonPath: '.spec.format.algoType' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Key ID', type: 'string', jsonPath: '.status.keyId' },
      { name: 'Address', type: 'string', jsonPath: '.status.address', priority: 1 },
      age,
    ],
  },
  {
    kind: 'KeyRotation',
    plural: 'keyrotations',
    singular: 'keyrotation',
    shortNames: ['krot'],
    spec: KeyRotationSpecSchema,
    status: KeyRotationStatusSchema,
    columns: [
      { name: 'Key', type: 'string', jsonPath: '.spec.keyRef.name' },
      { name: 'Type', type: 'string', jsonPath: '.spec.type' },
      { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
      { name: 'Outcome', type: 'string', jsonPath: '.status.lastOutcome' },
      { name: 'Last Run', type: 'date', jsonPath: '.status.lastRunTime' },
      age,
    ],
  },
];

export const crdName = (r: ResourceDefinition): string => `${r.plural}.${GROUP}`;
export { GROUP, VERSION };
