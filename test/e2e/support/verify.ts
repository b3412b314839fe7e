/** Independent signature checks (noble, ethers): what a chain would accept, not what Custos says. */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { computeAddress, recoverAddress, Signature } from 'ethers';

export type E2eAlgo = 'EDDSA' | 'BLS' | 'GG18';

const ETH_BLS_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
const unhex = (s: string) => hexToBytes(s.replace(/^0x/, ''));

/** Checks `signature` over `data` (RAW message, or for GG18 the 32-byte digest) under `publicKey`. */
export function verifySignature(algo: E2eAlgo, publicKey: string, data: string, signature: string): boolean {
  try {
    if (algo === 'EDDSA') return ed25519.verify(unhex(signature), unhex(data), unhex(publicKey));
    if (algo === 'BLS') {
      const bls = bls12_381.longSignatures;
      return bls.verify(
        bls.Signature.fromBytes(unhex(signature)),
        bls.hash(unhex(data), ETH_BLS_DST),
        bls12_381.G1.Point.fromBytes(unhex(publicKey)),
      );
    }
    const sig = unhex(signature);
    const lowS = secp256k1.verify(sig.subarray(0, 64), unhex(data), unhex(publicKey), { prehash: false });
    // ethers recovers the signer from r, s, v: the EVM's view of the same signature.
    const recovered = recoverAddress(data, Signature.from(signature));
    return lowS && recovered === computeAddress(publicKey.startsWith('0x') ? publicKey : `0x${publicKey}`);
  } catch {
    return false;
  }
}
