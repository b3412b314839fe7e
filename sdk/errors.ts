import type { ApprovalView, ErrorCode } from '../common/api/schemas.ts';

/**
 * The gateway's documented error codes, plus UNEXPECTED_RESPONSE for answers that do not follow
 * the contract (a proxy's HTML 502, a redirect, a body the schemas refuse).
 */
export type ClientErrorCode = ErrorCode | 'UNEXPECTED_RESPONSE';

/** The gateway answered with an error, or with something that is not the documented API. */
export class CustosApiError extends Error {
  override readonly name = 'CustosApiError';
  readonly status: number;
  readonly code: ClientErrorCode;
  readonly requestId: string | undefined;
  /** How long the gateway asked us to wait (Retry-After), when it said so. */
  readonly retryAfterMs: number | undefined;

  constructor(opts: {
    status: number;
    code: ClientErrorCode;
    message: string;
    requestId?: string | undefined;
    retryAfterMs?: number | undefined;
  }) {
    super(opts.message);
    this.status = opts.status;
    this.code = opts.code;
    this.requestId = opts.requestId;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** No HTTP answer at all: connection refused or reset, DNS failure, or the per-attempt timeout. */
export class CustosConnectionError extends Error {
  override readonly name = 'CustosConnectionError';
  readonly url: string;
  readonly attempts: number;

  constructor(opts: { url: string; attempts: number; cause: unknown }) {
    super(`cannot reach ${opts.url}: ${describeConnectionFailure(opts.cause)}`, { cause: opts.cause });
    this.url = opts.url;
    this.attempts = opts.attempts;
  }
}

/** fetch wraps the socket error (ECONNREFUSED, ...) in `cause`; timeouts are a TimeoutError. */
export function describeConnectionFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timed out';
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err.message;
}

/**
 * The request was accepted but waits for four-eyes approval (HTTP 202): a sign or status change a
 * policy routes to approval, a policy change, a key destruction. `approval.approval_id` names it;
 * read its outcome with `getApproval`.
 */
export class CustosApprovalPending extends Error {
  override readonly name = 'CustosApprovalPending';
  constructor(readonly approval: ApprovalView) {
    super(`waiting for approval ${approval.approval_id} (${approval.operation})`);
  }
}
