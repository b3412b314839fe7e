/** Why a backup set is refused; every code comes with a message naming the file at fault. */
export type BackupErrorCode =
  | 'NOT_FOUND'
  | 'MALFORMED'
  | 'TRUNCATED'
  | 'TAMPERED'
  | 'BAD_SIGNATURE'
  | 'WRONG_CLUSTER'
  | 'DECRYPT_FAILED'
  | 'INCOMPLETE';

export class BackupError extends Error {
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}
