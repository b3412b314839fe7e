/**
 * The approval gate for creating access keys with the `admin` role (docs/policies-and-approvals.md):
 * the access-key routes file the creation with `request` instead of performing it, and register
 * the creation itself with `onApproved`, which runs once when the request is approved. What the
 * creation returns is stored on the approval and shown to everyone who may read approvals: it
 * must never include a secret key.
 */
import type { Approval, ApprovalContext, ApprovalService } from './service.ts';

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
