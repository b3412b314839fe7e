/**
 * Threshold BLS over BLS12-381: public keys in G1 (48 bytes compressed), signatures in G2 (96 bytes
 * compressed), the Ethereum consensus ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_
 * (draft-irtf-cfrg-bls-signature-05). Keys come from the FROST KeyGen DKG run in G1
 * (../frost/keygen.ts); shares are Shamir shares of the group secret (Boldyreva, PKC 2003).
 *
 * Signing has no message rounds: each signer's finish([]) returns σ_i = λ_i·s_i·H(m), weighted
 * by its own Lagrange coefficient for the signer set. combine (gateway) adds them, σ = Σ σ_i, and
 * verifies σ under the group key; only if that fails is every partial checked,
 * e(λ_i·pk_i, H(m)) == e(G1, σ_i), naming a bad signer.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ByteWriter, decodeAll } from '../encoding.ts';
import { lagrangeAtZero } from '../frost/group.ts';
import { createDkgParty, judgeDkg } from '../frost/keygen.ts';
import { combineInputs, signingKeyShare, encodeKeyShare, encodePublicInfo } from '../frost/key-share.ts';
import { blame, partyIndex, RoundCounter } from '../frost/session.ts';
import { createGroupRefreshParty } from '../refresh/group-refresh.ts';
import {
  ProtocolAbort,
  type KeygenOutput,
  type MpcParty,
  type PartyId,
  type SessionContext,
  type ThresholdScheme,
} from '../types.ts';
import { decodeG1, decodeG2, g1Group, type G2Point } from './g1-group.ts';

/** The proof-of-possession ciphersuite Ethereum consensus uses for signatures. */
export const BLS_POP_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
const SUITE = 'BLS12381G1-THRESHOLD-v1';
const SHARE_TAG = 'custos/bls12381/key-share';
const PUBLIC_TAG = 'custos/bls12381/public-info';
/** Format tags of the serialised key share and public info (see ../frost/key-share.ts). */
export const BLS_FORMATS = { keyShare: SHARE_TAG, publicInfo: PUBLIC_TAG } as const;
const WIRE_VERSION = 1;
const KIND_PARTIAL_SIGNATURE = 5;

const bls = bls12_381.longSignatures;
const order = g1Group.order;

/** H(m): the message hashed to G2 under the POP ciphersuite's DST. */
export const hashMessage = (message: Uint8Array): G2Point => bls.hash(message, BLS_POP_DST);

function encodePartial(sigma: G2Point): Uint8Array {
  return new ByteWriter().u8(WIRE_VERSION).u8(KIND_PARTIAL_SIGNATURE).bytes(sigma.toBytes(true)).finish();
}

function decodePartial(payload: Uint8Array): G2Point {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_PARTIAL_SIGNATURE, 'message kind');
    return decodeG2(r.bytes(96));
  });
}

function keygen(ctx: SessionContext): MpcParty<KeygenOutput> {
  const dkg = createDkgParty(g1Group, SUITE, ctx);
  return {
    rounds: dkg.rounds,
    round: (r, inbound) => dkg.round(r, inbound),
    finish(inbound) {
      const result = dkg.finish(inbound);
      const info = { threshold: ctx.threshold, holders: ctx.holders, verificationShares: result.verificationShares };
      return {
        publicKey: result.groupKey.toBytes(true),
        publicInfo: encodePublicInfo(g1Group, PUBLIC_TAG, info),
        secretShare: encodeKeyShare(g1Group, SHARE_TAG, { ...info, ...result }),
      };
    },
  };
}

function sign(ctx: SessionContext, secretShare: Uint8Array, message: Uint8Array): MpcParty<Uint8Array> {
  const key = signingKeyShare(g1Group, SHARE_TAG, secretShare, ctx);
  const counter = new RoundCounter(0);
  return {
    rounds: [],
    round(r) {
      counter.enter(r);
      return [];
    },
    finish(inbound) {
      counter.finish();
      if (inbound.length > 0) throw new ProtocolAbort(inbound[0]!.from, 'unexpected message in a zero-round protocol');
      // The signer applies its own Lagrange coefficient, so the gateway only adds the partials
      // (a G2 multiplication per signer saved on the coordinator's critical path).
      const indices = ctx.parties.map((p) => BigInt(partyIndex(ctx.holders, p)));
      const weighted = (lagrangeAtZero(indices, BigInt(key.index), order) * key.secretShare) % order;
      return encodePartial(hashMessage(message).multiply(weighted));
    },
  };
}

function combine(
  outputs: ReadonlyMap<PartyId, Uint8Array>,
  publicInfo: Uint8Array,
  publicKey: Uint8Array,
  message: Uint8Array,
  ctx: { holders: readonly PartyId[]; threshold: number },
): Uint8Array {
  const { info, groupKey, signers } = combineInputs(
    g1Group,
    PUBLIC_TAG,
    publicInfo,
    publicKey,
    outputs,
    ctx,
    'partial signatures',
  );
  const hm = hashMessage(message);
  const indices = signers.map((s) => BigInt(s.index));
  const partials = signers.map((s) => ({
    ...s,
    sigma: blame(s.id, 'malformed partial signature', () => decodePartial(outputs.get(s.id)!)),
    verificationShare: info.verificationShares[s.index - 1]!,
  }));
  // Each partial is λ_i·s_i·H(m) (the signer weighted it), so σ is their sum.
  const sigma = partials.reduce((acc, p) => acc.add(p.sigma), bls12_381.G2.Point.ZERO);
  // BLS signatures are unique: a combined signature that verifies is the signature, whatever the
  // partials were. Only a failed one is traced to the partial that broke it.
  if (bls.verify(sigma, hm, groupKey)) return sigma.toBytes(true);
  for (const p of partials) {
    const weightedShare = p.verificationShare.multiply(lagrangeAtZero(indices, BigInt(p.index), order));
    if (!bls.verify(p.sigma, hm, weightedShare)) {
      throw new ProtocolAbort(p.id, 'partial signature does not verify under its verification share');
    }
  }
  throw new ProtocolAbort(undefined, 'combined signature does not verify: public info does not match the public key');
}

/** Standard BLS verification under the POP ciphersuite; malformed inputs verify as false. */
function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return bls.verify(decodeG2(signature), hashMessage(message), decodeG1(publicKey));
  } catch {
    return false;
  }
}

export const blsScheme: ThresholdScheme = {
  algo: 'BLS',
  keygen,
  refresh: (ctx, secretShare) => createGroupRefreshParty(g1Group, SUITE, BLS_FORMATS, ctx, secretShare),
  sign,
  combine,
  verify,
  judge: (ctx, kind, accused, accuser, messages) =>
    kind === 'KEYGEN' ? judgeDkg(g1Group, SUITE, ctx, accused, accuser, messages) : undefined,
};
