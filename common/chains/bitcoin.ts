import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { base58check as base58checkFor, bech32 } from '@scure/base';

export type BitcoinNetwork = 'mainnet' | 'testnet';

const base58check = base58checkFor(sha256);

/** BIP-173 human-readable part and base58 P2PKH version byte per network. */
const NETWORK_PARAMS: Record<BitcoinNetwork, { hrp: string; p2pkhVersion: number }> = {
  mainnet: { hrp: 'bc', p2pkhVersion: 0x00 },
  testnet: { hrp: 'tb', p2pkhVersion: 0x6f },
};

export function hash160(bytes: Uint8Array): Uint8Array {
  return ripemd160(sha256(bytes));
}

/** BIP-141/173: witness version 0 program = hash160 of the compressed key, bech32-encoded. */
export function p2wpkhAddress(compressed: Uint8Array, network: BitcoinNetwork): string {
  const words = bech32.toWords(hash160(compressed));
  return bech32.encode(NETWORK_PARAMS[network].hrp, [0, ...words]);
}

/** Legacy pay-to-pubkey-hash: base58check(version ‖ hash160 of the compressed key). */
export function p2pkhAddress(compressed: Uint8Array, network: BitcoinNetwork): string {
  return base58check.encode(concatBytes(Uint8Array.of(NETWORK_PARAMS[network].p2pkhVersion), hash160(compressed)));
}
