import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { base58check as base58checkFor } from '@scure/base';
import { evmAccountId } from './evm.ts';

const base58check = base58checkFor(sha256);
/** TRON mainnet address prefix byte; it makes every base58 address start with "T". */
const TRON_ADDRESS_PREFIX = 0x41;

/** TRON uses the EVM account id (keccak256 of the uncompressed key) behind a 0x41 prefix, base58check-encoded. */
export function tronAddress(uncompressed: Uint8Array): string {
  return base58check.encode(concatBytes(Uint8Array.of(TRON_ADDRESS_PREFIX), evmAccountId(uncompressed)));
}
