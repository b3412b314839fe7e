import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, numberToBytesBE } from '@noble/curves/utils.js';

const { n: CURVE_ORDER } = secp256k1.Point.CURVE();
const HALF_ORDER = CURVE_ORDER >> 1n;

/** An ECDSA signature with the recovery id (bit 0: parity of R.y, bit 1: R.x >= n). */
export interface RecoverableSignature {
  r: bigint;
  s: bigint;
  recoveryId: number;
}

/** The API's ECDSA answer: 0x r‖s‖v (65 bytes), with r and s as 32-byte 0x-hex and v = 27 + recovery id. */
export interface RsvSignature {
  signature: `0x${string}`;
  r: `0x${string}`;
  s: `0x${string}`;
  v: number;
  recoveryId: number;
}

function assertSignatureRange({ r, s, recoveryId }: RecoverableSignature): void {
  if (r <= 0n || r >= CURVE_ORDER) throw new RangeError('ECDSA r must be in [1, n-1]');
  if (s <= 0n || s >= CURVE_ORDER) throw new RangeError('ECDSA s must be in [1, n-1]');
  if (!Number.isInteger(recoveryId) || recoveryId < 0 || recoveryId > 3) {
    throw new RangeError('ECDSA recovery id must be 0, 1, 2 or 3');
  }
}

/**
 * Low-s form (EIP-2, BIP-62): when s > n/2 use n - s. That negates the signature's R as seen by
 * recovery, so the parity bit of the recovery id flips with it.
 */
export function normalizeLowS(sig: RecoverableSignature): RecoverableSignature {
  assertSignatureRange(sig);
  if (sig.s <= HALF_ORDER) return { ...sig };
  return { r: sig.r, s: CURVE_ORDER - sig.s, recoveryId: sig.recoveryId ^ 1 };
}

/** Normalises to low-s and encodes as the 65-byte r‖s‖v that Ethereum wallets and libraries expect. */
export function toRsv(r: bigint, s: bigint, recoveryId: number): RsvSignature {
  const low = normalizeLowS({ r, s, recoveryId });
  const rHex = bytesToHex(numberToBytesBE(low.r, 32));
  const sHex = bytesToHex(numberToBytesBE(low.s, 32));
  const v = 27 + low.recoveryId;
  return {
    signature: `0x${rHex}${sHex}${v.toString(16).padStart(2, '0')}`,
    r: `0x${rHex}`,
    s: `0x${sHex}`,
    v,
    recoveryId: low.recoveryId,
  };
}
