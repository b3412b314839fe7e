/** A public key that is not a valid point of its curve (wrong length, off the curve, identity). */
export class InvalidPublicKeyError extends Error {
  override readonly name = 'InvalidPublicKeyError';
}

/** Sign-request data that cannot be turned into the bytes to sign; the message says what to fix. */
export class InvalidSignDataError extends Error {
  override readonly name = 'InvalidSignDataError';
}
