/**
 * Risk-control policy documents (docs/policies-and-approvals.md); shared by the gateway and the SDK: one zod schema is the whole
 * contract. A policy is a named list of rules; a rule matches a request, optionally tests
 * conditions, and names an action. Evaluation is in evaluate.ts.
 */
import { z } from 'zod';
import { AlgorithmSchema, DataTypeSchema, KeyIdSchema, LabelSchema } from './schemas.ts';

/** Operations a rule can govern. */
export const GOVERNED_OPERATIONS = ['KEY_SIGN', 'KEY_STATUS_CHANGE', 'KEY_DESTROY', 'POLICY_CHANGE'] as const;
export const GovernedOperationSchema = z.enum(GOVERNED_OPERATIONS);
export type GovernedOperation = z.infer<typeof GovernedOperationSchema>;

export const ACTIONS = ['allow', 'deny', 'require_approval'] as const;
export type PolicyAction = (typeof ACTIONS)[number];

const AccessKeyIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'access key: 1 to 128 of [A-Za-z0-9_.-]');
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'time of day as HH:MM (UTC)');
const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;

/** Times (UTC) when the rule applies; `from` after `to` wraps past midnight. */
export const TimeWindowSchema = z.strictObject({
  days: z.array(z.enum(WEEKDAYS)).min(1).max(7).optional(),
  from: HHMM.default('00:00'),
  to: HHMM.default('23:59'),
});

export const MatchSchema = z
  .strictObject({
    key_ids: z.array(KeyIdSchema).min(1).max(1000).optional(),
    labels: z.array(LabelSchema).min(1).max(1000).optional(),
    label_prefixes: z.array(z.string().min(1).max(253)).min(1).max(100).optional(),
    algorithms: z.array(AlgorithmSchema).min(1).optional(),
    data_types: z.array(DataTypeSchema).min(1).optional(),
    access_keys: z.array(AccessKeyIdSchema).min(1).max(1000).optional(),
    time_window: TimeWindowSchema.optional(),
  })
  .describe('every field given must hold (AND); values inside one field are alternatives (OR)');

/** An EIP-712 domain entry: every field given must equal the request's domain. */
export const Eip712DomainSchema = z
  .strictObject({
    chain_id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    verifying_contract: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, 'verifying_contract: 0x and 40 hex digits')
      .optional(),
    name: z.string().max(256).optional(),
  })
  .refine((d) => Object.keys(d).length > 0, 'an EIP-712 domain entry names at least one field');

/** Glob over the message text: `*` any run of characters, `?` one character; no regular expressions (no ReDoS). */
const GlobSchema = z.string().min(1).max(512);

export const ConditionsSchema = z
  .strictObject({
    velocity: z
      .strictObject({
        per: z.enum(['key', 'access_key']),
        window_seconds: z
          .number()
          .int()
          .min(1)
          .max(31 * 86400),
        max: z.number().int().min(0).max(1_000_000),
      })
      .optional()
      .describe('holds when this sign would be number max+1 or later in the window'),
    eip712_domain_in: z.array(Eip712DomainSchema).min(1).max(1000).optional(),
    eip712_domain_not_in: z.array(Eip712DomainSchema).min(1).max(1000).optional(),
    eip712_primary_type_in: z.array(z.string().min(1).max(256)).min(1).max(1000).optional(),
    eip712_primary_type_not_in: z.array(z.string().min(1).max(256)).min(1).max(1000).optional(),
    eip191_message_matches: z.array(GlobSchema).min(1).max(100).optional(),
    eip191_message_not_matches: z.array(GlobSchema).min(1).max(100).optional(),
  })
  .describe('every condition given must hold (AND); EIP-712 and EIP-191 conditions hold only for that data type');

export const ApprovalRequirementSchema = z
  .strictObject({
    required: z.number().int().min(1).max(16).describe('M: approvals needed'),
    approvers: z
      .array(AccessKeyIdSchema)
      .min(1)
      .max(64)
      .optional()
      .describe('N: who may approve; absent: any access key with the approver or admin role'),
  })
  .refine((a) => a.approvers === undefined || new Set(a.approvers).size === a.approvers.length, {
    message: 'approvers must be distinct',
    path: ['approvers'],
  })
  .refine((a) => a.approvers === undefined || a.required <= a.approvers.length, {
    message: 'required exceeds the number of approvers',
    path: ['required'],
  });
export type ApprovalRequirementSpec = z.infer<typeof ApprovalRequirementSchema>;

const KEY_MATCHERS = ['key_ids', 'labels', 'label_prefixes', 'algorithms'] as const;
const SIGN_MATCHERS = ['data_types'] as const;

export const RuleSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'rule id: 1 to 64 of [A-Za-z0-9_.-]'),
    description: z.string().max(500).optional(),
    operations: z.array(GovernedOperationSchema).min(1).default(['KEY_SIGN']),
    match: MatchSchema.default({}),
    conditions: ConditionsSchema.default({}),
    action: z.enum(ACTIONS),
    approval: ApprovalRequirementSchema.optional(),
  })
  .superRefine((rule, ctx) => {
    const ops = new Set(rule.operations);
    if ((rule.action === 'require_approval') !== (rule.approval !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['approval'],
        message: 'approval is given exactly when action is require_approval',
      });
    }
    const signOnly = ops.size === 1 && ops.has('KEY_SIGN');
    if (!signOnly) {
      if (Object.keys(rule.conditions).length > 0) {
        ctx.addIssue({ code: 'custom', path: ['conditions'], message: 'conditions apply to KEY_SIGN rules only' });
      }
      for (const m of SIGN_MATCHERS) {
        if (rule.match[m] !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['match', m], message: `${m} applies to KEY_SIGN rules only` });
        }
      }
    }
    if (ops.has('POLICY_CHANGE')) {
      for (const m of KEY_MATCHERS) {
        if (rule.match[m] !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['match', m], message: `${m} does not apply to POLICY_CHANGE` });
        }
      }
      // A deny on policy changes could never be lifted again.
      if (rule.action === 'deny') {
        ctx.addIssue({ code: 'custom', path: ['action'], message: 'POLICY_CHANGE rules cannot deny' });
      }
    }
  });
export type PolicyRule = z.infer<typeof RuleSchema>;

export const PolicyDocumentSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'name: 1 to 128 of [A-Za-z0-9_.-]'),
    description: z.string().max(1000).optional(),
    enabled: z.boolean().default(true),
    rules: z.array(RuleSchema).min(1).max(100),
  })
  .refine((p) => new Set(p.rules.map((r) => r.id)).size === p.rules.length, {
    message: 'rule ids must be distinct within a policy',
    path: ['rules'],
  });
export type PolicyDocument = z.infer<typeof PolicyDocumentSchema>;
/** What a client sends: defaults not yet applied. */
export type PolicyDocumentInput = z.input<typeof PolicyDocumentSchema>;

/** A stored policy: the document plus its identity and version. */
export const PolicySchema = z.object({
  policy_id: z.string(),
  version: z.number().int(),
  document: PolicyDocumentSchema,
  created_at: z.string(),
  updated_at: z.string(),
});
export type Policy = z.infer<typeof PolicySchema>;
