/** KeyRotation: proactive refresh, or re-share onto a replacement node, of a ManagedKey's shares. */
import { z } from 'zod';
import { cel, ConditionsSchema, DnsNameSchema, LocalObjectRefSchema, type ObjectMeta } from './common.ts';

export const KeyRotationSpecSchema = z
  .object({
    keyRef: LocalObjectRefSchema.describe('ManagedKey in the same namespace'),
    type: z.enum(['Refresh', 'Reshare']).default('Refresh'),
    schedule: z.string().min(9).max(128).optional().describe('cron schedule (UTC); without one the rotation runs once'),
    reshare: z
      .object({ replaceNode: DnsNameSchema.describe('node id whose share moves, e.g. tss2'), toNode: DnsNameSchema })
      .strict()
      .optional(),
    suspend: z.boolean().default(false),
  })
  .strict()
  .meta(
    cel({ rule: "self.type != 'Reshare' || has(self.reshare)", message: 'reshare is required when type is Reshare' }),
  );
export type KeyRotationSpec = z.infer<typeof KeyRotationSpecSchema>;

export const ROTATION_OUTCOMES = ['Succeeded', 'Failed', 'Unsupported'] as const;

export const KeyRotationStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  lastRunTime: z.string().meta({ format: 'date-time' }).optional(),
  nextRunTime: z.string().meta({ format: 'date-time' }).optional(),
  lastOutcome: z.enum(ROTATION_OUTCOMES).optional(),
  shareVersion: z.int().min(0).optional(),
  operationId: z
    .string()
    .max(64)
    .optional()
    .describe('gateway operation of the last run (GET /api/v1/operations/{id}); kept until its outcome is recorded'),
  lastMessage: z.string().max(1024).optional().describe("the last run's outcome in words (a failure's reason)"),
  conditions: ConditionsSchema.optional(),
});
export type KeyRotationStatus = z.infer<typeof KeyRotationStatusSchema>;

export interface KeyRotation {
  apiVersion: 'custos.dev/v1alpha1';
  kind: 'KeyRotation';
  metadata: ObjectMeta;
  spec: KeyRotationSpec;
  status?: KeyRotationStatus;
}
