import type { Curve } from '../api/schemas.ts';
import { p2pkhAddress, p2wpkhAddress, type BitcoinNetwork } from './bitcoin.ts';
import { InvalidPublicKeyError } from './errors.ts';
import { ethConsensusPublicKey } from './eth-consensus.ts';
import { evmAddress } from './evm.ts';
import { parseSecp256k1PublicKey } from './secp256k1-key.ts';
import { solanaAddress } from './solana.ts';
import { tronAddress } from './tron.ts';

export { InvalidPublicKeyError } from './errors.ts';
export type { BitcoinNetwork } from './bitcoin.ts';

export interface AddressOptions {
  /** Network of the Bitcoin addresses; mainnet unless asked. */
  bitcoinNetwork?: BitcoinNetwork;
}

export interface KeyAddresses {
  /** The key's primary address: EVM for secp256k1, Solana for Ed25519, the G1 key for BLS. */
  address: string;
  /** Every address the key has, by chain: EVM, BITCOIN_P2WPKH, BITCOIN_P2PKH, TRON, SOLANA, ETH_CONSENSUS. */
  addresses: Record<string, string>;
}

/** The chain addresses of a public key; throws InvalidPublicKeyError when the key is not a valid point. */
export function addressesFor(curve: Curve, publicKey: Uint8Array, opts: AddressOptions = {}): KeyAddresses {
  switch (curve) {
    case 'SECP256K1': {
      const key = parseSecp256k1PublicKey(publicKey);
      const network = opts.bitcoinNetwork ?? 'mainnet';
      const evm = evmAddress(key.uncompressed);
      return {
        address: evm,
        addresses: {
          EVM: evm,
          BITCOIN_P2WPKH: p2wpkhAddress(key.compressed, network),
          BITCOIN_P2PKH: p2pkhAddress(key.compressed, network),
          TRON: tronAddress(key.uncompressed),
        },
      };
    }
    case 'ED25519': {
      const solana = solanaAddress(publicKey);
      return { address: solana, addresses: { SOLANA: solana } };
    }
    case 'BLS12_381': {
      const consensus = ethConsensusPublicKey(publicKey);
      return { address: consensus, addresses: { ETH_CONSENSUS: consensus } };
    }
    default:
      throw new InvalidPublicKeyError(`unknown curve ${String(curve satisfies never)}`);
  }
}
