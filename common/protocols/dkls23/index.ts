/**
 * DKLS23 threshold ECDSA on secp256k1 as a ThresholdScheme (algo "DKLS23"): keygen is the shared
 * DKG plus pairwise base OTs; signing is DKLs23 Protocol 3.6. Signatures are GG18's format (r‖s‖v,
 * low s), so a DKLS23 key has the same addresses and data types as a GG18 key.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { verifyRecoverable } from '../threshold/ecdsa.ts';
import { sameBytes } from '../threshold/scalars.ts';
import { ProtocolAbort, type PartyId, type ThresholdScheme } from '../types.ts';
import { createKeygenParty, judgeKeygen } from './keygen.ts';
import { decodePublicInfo, decodeSecretShare } from './share.ts';
import { createSignParty } from './sign.ts';

export const dkls23Scheme: ThresholdScheme = {
  algo: 'DKLS23',
  keygen: createKeygenParty,
  sign(ctx, secretShare, message) {
    return createSignParty(ctx, decodeSecretShare(secretShare), message);
  },
  combine(outputs, publicInfo, publicKey, message, ctx) {
    const info = decodePublicInfo(publicInfo);
    if (!info.publicKey.equals(secp256k1.Point.fromBytes(publicKey))) {
      throw new Error('public info does not match the public key');
    }
    if (info.holders.join() !== ctx.holders.join()) throw new Error('public info does not match the key holders');
    if (outputs.size < ctx.threshold) throw new ProtocolAbort(undefined, 'too few signer outputs');
    let agreed: Uint8Array | undefined;
    let first: PartyId | undefined;
    for (const [party, sig] of outputs) {
      if (!ctx.holders.includes(party)) throw new ProtocolAbort(party, 'output from a non-holder');
      if (!verifyRecoverable(sig, message, publicKey))
        throw new ProtocolAbort(party, 'signer output is not a valid signature');
      if (agreed && !sameBytes(agreed, sig)) throw new ProtocolAbort(party, `signer output differs from ${first}'s`);
      agreed ??= sig;
      first ??= party;
    }
    return agreed!;
  },
  judge: (ctx, kind, accused, accuser, messages) =>
    kind === 'KEYGEN' ? judgeKeygen(ctx, accused, accuser, messages) : undefined,
  verify: verifyRecoverable,
};
