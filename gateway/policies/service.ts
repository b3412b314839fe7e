/**
 * Policy governance: decisions for governed operations (the pure evaluate() fed with the stored
 * policies and shared velocity counts), every decision audited with the rules that made it, and
 * policy create/update/delete, which go through approval when a POLICY_CHANGE rule says so.
 */
import type { ApprovalContext, Approval, ApprovalService } from '../approvals/service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { ApiError } from '../http/errors.ts';
import { PolicyDocumentSchema, type Policy, type PolicyDocument } from '../../common/api/policy-document.ts';
import { evaluate, velocityWindows, type Decision, type GovernedRequest } from './evaluate.ts';
import type { PolicyStore } from './store.ts';
import type { VelocityLedger } from './velocity.ts';

export interface PolicyDecision {
  decision: Decision;
  /** The recorded sign event behind velocity counts (withdrawn again when the sign is denied). */
  velocityEventId?: string;
}

/** What a change does: the outcome is applied now (201/200/204) or waits for approval (202). */
export type ChangeOutcome<T> = { applied: true; value: T } | { applied: false; approval: Approval };

export interface PolicyService {
  /**
   * Decides a governed request. KEY_SIGN requests are counted for velocity first; the count is
   * withdrawn when the decision is deny. Audits nothing: callers audit the decision with their event.
   */
  decide(req: GovernedRequest): Promise<PolicyDecision>;
  list(): Promise<Policy[]>;
  get(policyId: string): Promise<Policy>;
  create(doc: PolicyDocument, ctx: ApprovalContext & { reason?: string }): Promise<ChangeOutcome<Policy>>;
  update(
    policyId: string,
    doc: PolicyDocument,
    ctx: ApprovalContext & { reason?: string },
  ): Promise<ChangeOutcome<Policy>>;
  remove(policyId: string, ctx: ApprovalContext & { reason?: string }): Promise<ChangeOutcome<{ policy_id: string }>>;
}

/** The audit trail of a decision: the action and every rule that fired. */
export function decisionTrail(decision: Decision): Record<string, unknown> {
  return {
    policy: {
      action: decision.action,
      rules: decision.rules.map((r) => `${r.policy_name}/${r.rule_id}:${r.action}`),
    },
  };
}

/** A stored change, as the approval carries it until it is applied. */
type PolicyChange =
  | { change: 'create'; document: PolicyDocument }
  | { change: 'update'; policy_id: string; base_version: number; document: PolicyDocument }
  | { change: 'delete'; policy_id: string; base_version: number };

export function createPolicyService(opts: {
  store: PolicyStore;
  velocity: VelocityLedger;
  approvals: ApprovalService;
  audit: AuditLog;
  now?: () => number;
}): PolicyService {
  const { store, velocity, approvals, audit } = opts;
  const now = opts.now ?? Date.now;

  async function apply(change: PolicyChange, ctx: ApprovalContext, approvalId?: string) {
    let value: Policy | { policy_id: string };
    if (change.change === 'create') value = await store.create(change.document, ctx.userId);
    else if (change.change === 'update')
      value = await store.update(change.policy_id, change.document, change.base_version);
    else {
      await store.remove(change.policy_id, change.base_version);
      value = { policy_id: change.policy_id };
    }
    await audit.record({
      operation: 'CONFIG_CHANGE',
      result: 'SUCCESS',
      requestId: ctx.requestId,
      userId: ctx.userId,
      trail: {
        ...ctx.trail,
        target: 'policy',
        change: change.change,
        policy_id: value.policy_id,
        ...('version' in value ? { version: value.version, name: value.document.name } : {}),
        ...(approvalId ? { approval_id: approvalId } : {}),
      },
    });
    return value;
  }

  approvals.registerExecutor('POLICY_CHANGE', async (payload, approval, ctx) => {
    const parsed = parseStoredChange(payload);
    return apply(parsed, { ...ctx, userId: approval.requester }, approval.approval_id);
  });

  /** Applies the change now, or files it for approval when a POLICY_CHANGE rule requires one. */
  async function govern<T>(
    change: PolicyChange,
    ctx: ApprovalContext & { reason?: string },
  ): Promise<ChangeOutcome<T>> {
    const { decision } = await service.decide({ operation: 'POLICY_CHANGE', accessKey: ctx.userId, nowMs: now() });
    if (decision.action === 'require_approval') {
      const approval = await approvals.request(
        {
          operation: 'POLICY_CHANGE',
          requester: ctx.userId ?? 'unknown',
          reason: ctx.reason,
          payload: change as unknown as Record<string, unknown>,
          requirements: decision.requirements,
        },
        { ...ctx, trail: { ...ctx.trail, ...decisionTrail(decision) } },
      );
      return { applied: false, approval };
    }
    return { applied: true, value: (await apply(change, ctx)) as T };
  }

  const service: PolicyService = {
    async decide(req) {
      const policies = await store.list();
      let velocityEventId: string | undefined;
      const windows = velocityWindows(policies, req);
      const counted = req.operation === 'KEY_SIGN' && req.key && req.accessKey !== undefined;
      // Record first, count after: a racing replica's sign is always seen (velocity.ts).
      if (counted) velocityEventId = await velocity.record(req.key!.keyId, req.accessKey!, req.nowMs);
      const counts = counted ? await velocity.counts(req.key!.keyId, req.accessKey!, windows, req.nowMs) : new Map();
      const decision = evaluate(policies, req, counts);
      if (decision.action === 'deny' && velocityEventId) {
        await velocity.withdraw(velocityEventId);
        velocityEventId = undefined;
      }
      return { decision, ...(velocityEventId ? { velocityEventId } : {}) };
    },
    list: () => store.list(),
    get: (policyId) => store.get(policyId),
    create: (document, ctx) => govern({ change: 'create', document }, ctx),
    async update(policyId, document, ctx) {
      const current = await store.get(policyId);
      return govern({ change: 'update', policy_id: policyId, base_version: current.version, document }, ctx);
    },
    async remove(policyId, ctx) {
      const current = await store.get(policyId);
      return govern({ change: 'delete', policy_id: policyId, base_version: current.version }, ctx);
    },
  };
  return service;
}

/** Re-validates a change read back from an approval, so a stored payload is never trusted blindly. */
function parseStoredChange(payload: Record<string, unknown>): PolicyChange {
  const change = payload.change;
  const id = typeof payload.policy_id === 'string' ? payload.policy_id : '';
  const version = typeof payload.base_version === 'number' ? payload.base_version : -1;
  if (change === 'delete') return { change, policy_id: id, base_version: version };
  const doc = PolicyDocumentSchema.safeParse(payload.document);
  if (!doc.success) throw new ApiError(422, 'VALIDATION_FAILED', 'the approved policy document no longer validates');
  if (change === 'create') return { change, document: doc.data };
  if (change === 'update') return { change, policy_id: id, base_version: version, document: doc.data };
  throw new ApiError(422, 'VALIDATION_FAILED', 'unknown policy change');
}
