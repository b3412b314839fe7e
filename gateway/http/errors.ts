/** The API's error type: an HTTP status and one of the contract's error codes. */
import type { ErrorCode } from '../../common/api/schemas.ts';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers (Retry-After). */
    readonly headers: Record<string, string> = {},
    /** Set when the failure was already written to the audit log (auth rejections). */
    readonly audited = false,
  ) {
    super(message);
  }
}
