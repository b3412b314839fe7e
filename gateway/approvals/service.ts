/**
 * Four-eyes approvals in the metadata database (docs/policies-and-approvals.md "Approvals").
 * Every transition is one UPDATE guarded by the row's version, so two approvers (or two gateway
 * replicas) racing never both win and nothing is half-written. An approved request is executed by
 * whoever claims it first: the claim is an UPDATE from APPROVED to EXECUTING that only one
 * statement can win, so the operation runs at most once even across replicas.
 */
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.ts';
import { nowIso, type Db } from '../db/index.ts';
import type { ApprovalRow } from '../db/schema.ts';
import { ApiError } from '../http/errors.ts';
import type { ApprovalRequirement } from '../policies/evaluate.ts';
import { decide, effectiveStatus, type ApprovalDecision, type ApprovalState, type ApprovalStatus } from './state.ts';

/** Operations that can wait for approval. */
export const APPROVAL_OPERATIONS = [
  'KEY_SIGN',
  'KEY_STATUS_CHANGE',
  'KEY_DESTROY',
  'POLICY_CHANGE',
  'ACCESS_KEY_CREATE',
] as const;
export type ApprovalOperation = (typeof APPROVAL_OPERATIONS)[number];

export interface Approval {
  approval_id: string;
  operation: ApprovalOperation;
  status: ApprovalStatus;
  requester: string;
  key_id: string | null;
  reason: string | null;
  /** What runs once approved, as the approvers see it. */
  request: Record<string, unknown>;
  requirements: ApprovalRequirement[];
  decisions: ApprovalDecision[];
  created_at: string;
  expires_at: string;
  updated_at: string;
  result?: unknown;
  error?: { code: string; message: string; details?: unknown };
}

/** Who asks, for the audit log. */
export interface ApprovalContext {
  requestId: string;
  userId?: string;
  trail: Record<string, unknown>;
}

/** Runs an approved operation; its return value is stored as the approval's result. */
export type ApprovalExecutor = (
  payload: Record<string, unknown>,
  approval: Approval,
  ctx: ApprovalContext,
) => Promise<unknown>;

/** An executor's failure that carries details worth keeping on the approval (e.g. which nodes confirmed). */
export class ApprovalExecutionError extends ApiError {
  constructor(
    status: number,
    code: ApiError['code'],
    message: string,
    readonly details: unknown,
  ) {
    super(status, code, message, {}, true);
  }
}

export interface ApprovalRequestInput {
  operation: ApprovalOperation;
  requester: string;
  keyId?: string;
  reason?: string;
  payload: Record<string, unknown>;
  /** Payload fields kept for execution but never shown (e.g. a client's sign authorisation). */
  hidden?: readonly string[];
  requirements: readonly ApprovalRequirement[];
}

export interface ListApprovalsQuery {
  status?: ApprovalStatus;
  operation?: ApprovalOperation;
  key_id?: string;
  limit: number;
  cursor?: string;
}

export interface ApprovalService {
  request(input: ApprovalRequestInput, ctx: ApprovalContext): Promise<Approval>;
  get(approvalId: string): Promise<Approval>;
  list(query: ListApprovalsQuery): Promise<{ items: Approval[]; next_cursor: string | null }>;
  decide(
    approvalId: string,
    decision: 'APPROVE' | 'REJECT',
    reason: string | null,
    ctx: ApprovalContext & { userId: string },
  ): Promise<Approval>;
  /** Claims an APPROVED request and runs it; a request another caller claimed is returned as is. */
  execute(approvalId: string, ctx: ApprovalContext): Promise<Approval>;
  registerExecutor(operation: ApprovalOperation, executor: ApprovalExecutor): void;
}

export interface ApprovalServiceOptions {
  db: Db;
  audit: AuditLog;
  /** How long a request stays open. */
  expirySeconds: number;
  now?: () => number;
}

const HIDDEN_FIELD = '_hidden';

export const newApprovalId = () => `apr_${randomBytes(16).toString('hex')}`;
const APPROVAL_ID = /^apr_[0-9a-f]{32}$/;

function approvalOf(row: ApprovalRow, nowMs: number): Approval {
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  const hidden = new Set((payload[HIDDEN_FIELD] as string[] | undefined) ?? []);
  const request = Object.fromEntries(Object.entries(payload).filter(([k]) => k !== HIDDEN_FIELD && !hidden.has(k)));
  return {
    approval_id: row.approval_id,
    operation: row.operation as ApprovalOperation,
    status: effectiveStatus({ status: row.status as ApprovalStatus, expiresAtMs: Date.parse(row.expires_at) }, nowMs),
    requester: row.requester,
    key_id: row.key_id,
    reason: row.reason,
    request,
    requirements: JSON.parse(row.requirements) as ApprovalRequirement[],
    decisions: JSON.parse(row.decisions) as ApprovalDecision[],
    created_at: row.created_at,
    expires_at: row.expires_at,
    updated_at: row.updated_at,
    ...(row.result !== null ? { result: JSON.parse(row.result) as unknown } : {}),
    ...(row.error !== null ? { error: JSON.parse(row.error) as Approval['error'] } : {}),
  };
}

function stateOf(row: ApprovalRow): ApprovalState {
  return {
    status: row.status as ApprovalStatus,
    requester: row.requester,
    requirements: JSON.parse(row.requirements) as ApprovalRequirement[],
    decisions: JSON.parse(row.decisions) as ApprovalDecision[],
    expiresAtMs: Date.parse(row.expires_at),
  };
}

export function encodeApprovalCursor(row: { created_at: string; approval_id: string }): string {
  return Buffer.from(`${row.created_at}|${row.approval_id}`, 'utf8').toString('base64url');
}

export function decodeApprovalCursor(cursor: string): { created_at: string; approval_id: string } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|(apr_[0-9a-f]{32})$/.exec(
    Buffer.from(cursor, 'base64url').toString('utf8'),
  );
  if (!m) throw new ApiError(400, 'VALIDATION_FAILED', 'cursor: not a cursor returned by this API');
  return { created_at: m[1]!, approval_id: m[2]! };
}

/** An executor's failure as stored on the approval. */
function errorOf(err: unknown): { code: string; message: string; details?: unknown } {
  if (err instanceof ApprovalExecutionError) return { code: err.code, message: err.message, details: err.details };
  if (err instanceof ApiError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: 'the approved operation failed' };
}

export function createApprovalService(opts: ApprovalServiceOptions): ApprovalService {
  const { db, audit } = opts;
  const now = opts.now ?? Date.now;
  const executors = new Map<ApprovalOperation, ApprovalExecutor>();
  const replica = randomBytes(8).toString('hex');

  async function rowOf(approvalId: string): Promise<ApprovalRow> {
    if (!APPROVAL_ID.test(approvalId)) throw new ApiError(404, 'NOT_FOUND', `approval ${approvalId} not found`);
    const row = await db.selectFrom('approvals').selectAll().where('approval_id', '=', approvalId).executeTakeFirst();
    if (!row) throw new ApiError(404, 'NOT_FOUND', `approval ${approvalId} not found`);
    return row;
  }

  /** One guarded transition: applies only if nobody changed the row since `row.version`. */
  async function transition(row: ApprovalRow, set: Partial<ApprovalRow>): Promise<boolean> {
    const res = await db
      .updateTable('approvals')
      .set({ ...set, version: Number(row.version) + 1, updated_at: nowIso() })
      .where('approval_id', '=', row.approval_id)
      .where('version', '=', Number(row.version))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  const service: ApprovalService = {
    registerExecutor(operation, executor) {
      executors.set(operation, executor);
    },

    async request(input, ctx) {
      const nowMs = now();
      const created = new Date(nowMs).toISOString();
      const row: ApprovalRow = {
        approval_id: newApprovalId(),
        operation: input.operation,
        status: 'PENDING',
        requester: input.requester,
        key_id: input.keyId ?? null,
        reason: input.reason ?? null,
        payload: JSON.stringify({
          ...input.payload,
          ...(input.hidden?.length ? { [HIDDEN_FIELD]: input.hidden } : {}),
        }),
        requirements: JSON.stringify(input.requirements),
        decisions: '[]',
        result: null,
        error: null,
        version: 1,
        executed_by: null,
        created_at: created,
        expires_at: new Date(nowMs + opts.expirySeconds * 1000).toISOString(),
        updated_at: created,
      };
      await db.insertInto('approvals').values(row).execute();
      await audit.record({
        operation: 'APPROVAL_REQUEST',
        result: 'SUCCESS',
        requestId: ctx.requestId,
        userId: ctx.userId,
        keyId: input.keyId,
        trail: {
          ...ctx.trail,
          approval_id: row.approval_id,
          approval_operation: input.operation,
          requirements: input.requirements,
          expires_at: row.expires_at,
        },
      });
      return approvalOf(row, nowMs);
    },

    async get(approvalId) {
      return approvalOf(await rowOf(approvalId), now());
    },

    async list(query) {
      let q = db.selectFrom('approvals').selectAll();
      const nowIsoText = new Date(now()).toISOString();
      if (query.status === 'EXPIRED') {
        q = q.where((eb) =>
          eb.or([
            eb('status', '=', 'EXPIRED'),
            eb.and([eb('status', '=', 'PENDING'), eb('expires_at', '<', nowIsoText)]),
          ]),
        );
      } else if (query.status === 'PENDING') {
        q = q.where('status', '=', 'PENDING').where('expires_at', '>=', nowIsoText);
      } else if (query.status !== undefined) q = q.where('status', '=', query.status);
      if (query.operation !== undefined) q = q.where('operation', '=', query.operation);
      if (query.key_id !== undefined) q = q.where('key_id', '=', query.key_id);
      if (query.cursor !== undefined) {
        const c = decodeApprovalCursor(query.cursor);
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '<', c.created_at),
            eb.and([eb('created_at', '=', c.created_at), eb('approval_id', '<', c.approval_id)]),
          ]),
        );
      }
      const rows = await q
        .orderBy('created_at', 'desc')
        .orderBy('approval_id', 'desc')
        .limit(query.limit + 1)
        .execute();
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      const nowMs = now();
      return {
        items: page.map((r) => approvalOf(r, nowMs)),
        next_cursor: rows.length > query.limit && last ? encodeApprovalCursor(last) : null,
      };
    },

    async decide(approvalId, decision, reason, ctx) {
      // A lost race with another approver is retried against the new state.
      for (let attempt = 0; attempt < 8; attempt++) {
        const row = await rowOf(approvalId);
        const nowMs = now();
        const outcome = decide(stateOf(row), ctx.userId, decision, reason, nowMs);
        if (!outcome.ok) {
          if (outcome.state) await transition(row, { status: outcome.state.status });
          throw new ApiError(outcome.status, outcome.code, outcome.message);
        }
        const next = outcome.state;
        if (!(await transition(row, { status: next.status, decisions: JSON.stringify(next.decisions) }))) continue;
        await audit.record({
          operation: 'APPROVAL_RESULT',
          result: 'SUCCESS',
          requestId: ctx.requestId,
          userId: ctx.userId,
          keyId: row.key_id ?? undefined,
          trail: {
            ...ctx.trail,
            approval_id: approvalId,
            approval_operation: row.operation,
            decision,
            ...(reason ? { reason } : {}),
            status: next.status,
            approvers: next.decisions.filter((d) => d.decision === 'APPROVE').map((d) => d.access_key),
          },
        });
        if (next.status === 'APPROVED') return service.execute(approvalId, ctx);
        return service.get(approvalId);
      }
      throw new ApiError(409, 'CONFLICT', `approval ${approvalId} is being decided concurrently; retry`);
    },

    async execute(approvalId, ctx) {
      const row = await rowOf(approvalId);
      if (row.status !== 'APPROVED') return approvalOf(row, now());
      const claim = await db
        .updateTable('approvals')
        .set({ status: 'EXECUTING', executed_by: replica, version: Number(row.version) + 1, updated_at: nowIso() })
        .where('approval_id', '=', approvalId)
        .where('status', '=', 'APPROVED')
        .executeTakeFirst();
      if (Number(claim.numUpdatedRows) !== 1) return service.get(approvalId);
      const claimed = await rowOf(approvalId);
      const executor = executors.get(row.operation as ApprovalOperation);
      let set: Partial<ApprovalRow>;
      try {
        if (!executor) throw new ApiError(500, 'INTERNAL', `no executor for ${row.operation}`);
        const result = await executor(
          JSON.parse(row.payload) as Record<string, unknown>,
          approvalOf(claimed, now()),
          ctx,
        );
        set = { status: 'EXECUTED', result: JSON.stringify(result ?? null) };
      } catch (err) {
        set = { status: 'FAILED', error: JSON.stringify(errorOf(err)) };
      }
      // Only the claimant moves it on from EXECUTING.
      await db
        .updateTable('approvals')
        .set({ ...set, version: Number(claimed.version) + 1, updated_at: nowIso() })
        .where('approval_id', '=', approvalId)
        .where('status', '=', 'EXECUTING')
        .where('executed_by', '=', replica)
        .execute();
      return service.get(approvalId);
    },
  };
  return service;
}
