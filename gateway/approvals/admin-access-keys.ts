/**
 * The approval gate for creating access keys with the `admin` role (docs/policies-and-approvals.md):
 * the access-key routes file the creation with `request` instead of performing it, and register
 * the creation itself with `onApproved`, which runs once when the request is approved. What the
 * creation returns is stored on the approval and shown to everyone who may read approvals: it
 * must never include a secret key. The access-key routes therefore create the key disabled, answer
 * its secret once to the requester, and let the approval only enable it.
 */
import type { Db } from '../db/index.ts';
import type { Approval, ApprovalContext, ApprovalService } from './service.ts';
import type { ApprovalStatus } from './state.ts';

export interface AdminAccessKeyGate {
  request(
    payload: Record<string, unknown>,
    ctx: ApprovalContext & { userId: string; reason?: string },
  ): Promise<Approval>;
  onApproved(
    create: (payload: Record<string, unknown>, requester: string, ctx: ApprovalContext) => Promise<unknown>,
  ): void;
}

export function adminAccessKeyGate(approvals: ApprovalService, required: number): AdminAccessKeyGate {
  return {
    request(payload, ctx) {
      return approvals.request(
        {
          operation: 'ACCESS_KEY_CREATE',
          requester: ctx.userId,
          ...(ctx.reason ? { reason: ctx.reason } : {}),
          payload,
          requirements: [{ source: 'gateway:admin_access_key', required, approvers: null }],
        },
        ctx,
      );
    },
    onApproved(create) {
      approvals.registerExecutor('ACCESS_KEY_CREATE', (payload, approval, ctx) =>
        create(payload, approval.requester, ctx),
      );
    },
  };
}

/**
 * Where the approval of an admin access key's creation stands: `none` for a key created without
 * one (every non-admin key, and keys from before approvals), else the latest request's status.
 * A key whose creation is not EXECUTED stays disabled: nobody may enable it by a status change.
 */
export async function adminCreationStatus(db: Db, accessKey: string): Promise<ApprovalStatus | 'none'> {
  const rows = await db
    .selectFrom('approvals')
    .select(['status', 'payload', 'created_at'])
    .where('operation', '=', 'ACCESS_KEY_CREATE')
    .orderBy('created_at', 'desc')
    .execute();
  const mine = rows.find((r) => (JSON.parse(r.payload) as { access_key?: unknown }).access_key === accessKey);
  return mine ? (mine.status as ApprovalStatus) : 'none';
}
