/** Pieces shared by the custos.dev/v1alpha1 schemas. */
import { z } from 'zod';

export const GROUP = 'custos.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A Kubernetes resource.Quantity: the API server accepts an integer or a string like "10Gi". */
export const QuantitySchema = z
  .union([z.int().min(0), z.string().regex(/^[0-9.]+([eE][0-9]+|[numkKMGTPE]|[KMGTPE]i)?$/)])
  .meta({ 'x-kubernetes-int-or-string': true });

export const DnsNameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);

/** A Kubernetes object passed through as is (Volume, Toleration, Affinity): the API server validates it where it lands. */
export const FreeFormSchema = z.record(z.string(), z.unknown()).meta({ 'x-kubernetes-preserve-unknown-fields': true });

export const LocalObjectRefSchema = z.object({ name: DnsNameSchema }).strict();

export const SecretKeyRefSchema = z
  .object({ name: DnsNameSchema, key: z.string().min(1).max(253).default('password') })
  .strict();

export const ResourceRequirementsSchema = z
  .object({
    requests: z.record(z.string(), QuantitySchema).optional(),
    limits: z.record(z.string(), QuantitySchema).optional(),
  })
  .strict();

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

/** metav1.Condition, as every status here lists them. */
export const ConditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(CONDITION_STATUSES),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: z.string().meta({ format: 'date-time' }),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const ConditionsSchema = z
  .array(ConditionSchema)
  .max(16)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

/** CEL rule attached to a schema node as `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
}
export function cel(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

/** Minimal object metadata the operator reads from a custom resource. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  finalizers?: string[];
}
