export { CustosClient, freshNonce, listKeysPath } from './client.ts';
export type { CustosClientOptions, GenerateKeyInput, HealthResponse, ListKeysInput, ReadyResponse } from './client.ts';
export { CustosApiError, CustosApprovalPending, CustosConnectionError } from './errors.ts';
export type { ClientErrorCode } from './errors.ts';
export { DEFAULT_RETRY_POLICY } from './retry.ts';
export type { RetryPolicy } from './retry.ts';
export type {
  GenerateKeyRequest,
  Key,
  KeyStatus,
  ListKeysResponse,
  SignRequest,
  SignResponse,
  UpdateStatusRequest,
} from '../common/api/schemas.ts';
