/**
 * Four-eyes approval state as pure functions (docs/policies-and-approvals.md "Approvals"): who may
 * decide, when an M-of-N requirement is met, and which transitions exist. The store applies the
 * result with a version guard, so a transition is written whole or not at all.
 *
 *   PENDING --approve (all requirements met)--> APPROVED --claim--> EXECUTING --> EXECUTED | FAILED
 *   PENDING --reject (any eligible approver)--> REJECTED
 *   PENDING --past expires_at--> EXPIRED
 */
import type { ApprovalRequirement } from '../policies/evaluate.ts';

export const APPROVAL_STATUSES = [
  'PENDING',
  'APPROVED',
  'REJECTED',
  'EXPIRED',
  'EXECUTING',
  'EXECUTED',
  'FAILED',
] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export interface ApprovalDecision {
  readonly access_key: string;
  readonly decision: 'APPROVE' | 'REJECT';
  readonly reason: string | null;
  readonly decided_at: string;
}

export interface ApprovalState {
  readonly status: ApprovalStatus;
  readonly requester: string;
  readonly requirements: readonly ApprovalRequirement[];
  readonly decisions: readonly ApprovalDecision[];
  readonly expiresAtMs: number;
}

export type DecideOutcome =
  | { readonly ok: true; readonly state: ApprovalState }
  | {
      readonly ok: false;
      readonly status: 403 | 409;
      readonly code: 'FORBIDDEN' | 'CONFLICT';
      readonly message: string;
      /** A state to persist even though the decision was refused (an expired request becomes EXPIRED). */
      readonly state?: ApprovalState;
    };

/** PENDING past its expiry reads as EXPIRED. */
export function effectiveStatus(state: Pick<ApprovalState, 'status' | 'expiresAtMs'>, nowMs: number): ApprovalStatus {
  return state.status === 'PENDING' && nowMs > state.expiresAtMs ? 'EXPIRED' : state.status;
}

/** May `accessKey` count towards `req`? Never the requester. */
export function countsFor(req: ApprovalRequirement, accessKey: string, requester: string): boolean {
  return accessKey !== requester && (req.approvers === null || req.approvers.includes(accessKey));
}

/** True when every requirement has `required` distinct eligible approvals. */
export function requirementsMet(
  requirements: readonly ApprovalRequirement[],
  decisions: readonly ApprovalDecision[],
  requester: string,
): boolean {
  const approvers = new Set(decisions.filter((d) => d.decision === 'APPROVE').map((d) => d.access_key));
  return requirements.every((req) => [...approvers].filter((a) => countsFor(req, a, requester)).length >= req.required);
}

/** One approver's decision applied to the state, or why it is refused. */
export function decide(
  state: ApprovalState,
  actor: string,
  decision: 'APPROVE' | 'REJECT',
  reason: string | null,
  nowMs: number,
): DecideOutcome {
  const status = effectiveStatus(state, nowMs);
  if (status === 'EXPIRED' && state.status === 'PENDING') {
    return {
      ok: false,
      status: 409,
      code: 'CONFLICT',
      message: 'the approval request expired',
      state: { ...state, status },
    };
  }
  if (status !== 'PENDING')
    return { ok: false, status: 409, code: 'CONFLICT', message: `the approval request is ${status}` };
  if (actor === state.requester) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: 'the requester cannot decide on their own request' };
  }
  if (!state.requirements.some((r) => countsFor(r, actor, state.requester))) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: `${actor} is not an approver of this request` };
  }
  if (state.decisions.some((d) => d.access_key === actor)) {
    return { ok: false, status: 409, code: 'CONFLICT', message: `${actor} already decided on this request` };
  }
  const decisions = [
    ...state.decisions,
    { access_key: actor, decision, reason, decided_at: new Date(nowMs).toISOString() },
  ];
  const next: ApprovalStatus =
    decision === 'REJECT'
      ? 'REJECTED'
      : requirementsMet(state.requirements, decisions, state.requester)
        ? 'APPROVED'
        : 'PENDING';
  return { ok: true, state: { ...state, decisions, status: next } };
}
