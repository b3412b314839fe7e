import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** The 20-byte account id: the last 20 bytes of keccak256 of the 64-byte X‖Y (uncompressed key without 0x04). */
export function evmAccountId(uncompressed: Uint8Array): Uint8Array {
  return keccak_256(uncompressed.subarray(1)).subarray(12);
}

/** EIP-55 mixed-case checksum: a hex letter is upper case when its nibble in keccak256(lowercase hex) is >= 8. */
export function toChecksumAddress(accountId: Uint8Array): string {
  const lower = bytesToHex(accountId);
  const hash = bytesToHex(keccak_256(utf8ToBytes(lower)));
  let out = '0x';
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i] as string;
    out += parseInt(hash[i] as string, 16) >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

export function evmAddress(uncompressed: Uint8Array): string {
  return toChecksumAddress(evmAccountId(uncompressed));
}
