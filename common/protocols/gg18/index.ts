/**
 * GG18 threshold ECDSA on secp256k1 as a ThresholdScheme (algo "GG18").
 *
 * Pre-params: keygen needs this party's Paillier key and ring-Pedersen parameters, which take
 * seconds of safe-prime search, while MpcParty.round is synchronous. The runtime therefore awaits
 * `pool.take()` (node/preparams) and calls `keygenWith(ctx, preParams)`. `keygen(ctx)` (the
 * generic ThresholdScheme entry point) draws synchronously from `options.preParams`, and fails
 * with a clear error when none is ready.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { KeygenOutput, MpcParty, PartyId, SessionContext, ThresholdScheme } from '../types.ts';
import { ProtocolAbort } from '../types.ts';
import { sameBytes, type Point } from './common.ts';
import { createKeygenParty } from './keygen.ts';
import { createRefreshParty } from './refresh.ts';
import type { PreParams } from './preparams.ts';
import { decodePublicInfo, decodeSecretShare } from './share.ts';
import { createNonceRegistry, createSignParty } from './sign.ts';

export type { PreParams } from './preparams.ts';
export { decodePreParams, encodePreParams, generatePreParams, validatePreParams } from './preparams.ts';

export interface Gg18Options {
  /** Synchronous source for `keygen(ctx)`: returns ready pre-params or undefined. */
  readonly preParams?: { takeReady(): PreParams | undefined };
  /** How many signing nonces R per party to remember for the repeated-nonce check. */
  readonly nonceMemory?: number;
}

export interface Gg18Scheme extends ThresholdScheme {
  /** Keygen with pre-params the runtime awaited from the pool (the preferred entry point). */
  keygenWith(ctx: SessionContext, preParams: PreParams): MpcParty<KeygenOutput>;
  /** Refresh with fresh pre-params the runtime awaited from the pool (refresh.ts). */
  refreshWith(ctx: SessionContext, secretShare: Uint8Array, preParams: PreParams): MpcParty<KeygenOutput>;
}

/** r‖s‖v → verifies with the standard verifier, low-s, v ∈ {27, 28} recovering to publicKey. */
function verifySignature(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 65 || message.length !== 32) return false;
  const v = signature[64]!;
  if (v !== 27 && v !== 28) return false;
  try {
    const compact = signature.subarray(0, 64);
    if (!secp256k1.verify(compact, message, publicKey, { prehash: false, lowS: true })) return false;
    const recovered = secp256k1.Signature.fromBytes(compact)
      .addRecoveryBit(v - 27)
      .recoverPublicKey(message);
    return sameBytes(recovered.toBytes(true), secp256k1.Point.fromBytes(publicKey).toBytes(true));
  } catch {
    return false;
  }
}

export function createGg18Scheme(options: Gg18Options = {}): Gg18Scheme {
  const nonces = createNonceRegistry(options.nonceMemory ?? 100_000);
  return {
    algo: 'GG18',
    keygenWith: createKeygenParty,
    refreshWith: createRefreshParty,
    refresh(ctx, secretShare) {
      const pre = options.preParams?.takeReady();
      if (!pre) throw new Error('no GG18 pre-params ready: await the pool and use refreshWith');
      return createRefreshParty(ctx, secretShare, pre);
    },
    keygen(ctx) {
      const pre = options.preParams?.takeReady();
      if (!pre) throw new Error('no GG18 pre-params ready: await the pool and use keygenWith');
      return createKeygenParty(ctx, pre);
    },
    sign(ctx, secretShare, message) {
      return createSignParty(ctx, decodeSecretShare(secretShare), message, nonces);
    },
    combine(outputs, publicInfo, publicKey, message, ctx) {
      const info = decodePublicInfo(publicInfo);
      const expected: Point = secp256k1.Point.fromBytes(publicKey);
      if (!info.publicKey.equals(expected)) throw new Error('public info does not match the public key');
      if (info.holders.map((h) => h.id).join() !== ctx.holders.join()) {
        throw new Error('public info does not match the key holders');
      }
      if (outputs.size < ctx.threshold) throw new ProtocolAbort(undefined, 'too few signer outputs');
      let agreed: Uint8Array | undefined;
      let first: PartyId | undefined;
      for (const [party, sig] of outputs) {
        if (!ctx.holders.includes(party)) throw new ProtocolAbort(party, 'output from a non-holder');
        if (!verifySignature(sig, message, publicKey)) {
          throw new ProtocolAbort(party, 'signer output is not a valid signature');
        }
        if (agreed && !sameBytes(agreed, sig)) {
          throw new ProtocolAbort(party, `signer output differs from ${first}'s`);
        }
        agreed ??= sig;
        first ??= party;
      }
      return agreed!;
    },
    verify: verifySignature,
  };
}
