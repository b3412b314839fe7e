/**
 * Threshold EdDSA: FROST(Ed25519, SHA-512) per RFC 9591, with the FROST KeyGen DKG (keygen.ts).
 * Signing uses noble-curves' RFC 9591 implementation; final signatures are plain Ed25519.
 *
 * Sign round 0 (broadcast): the signer's nonce commitments (hiding, binding).
 * Sign finish: the signer's share z_i, output with the commitment list it signed against.
 * combine (gateway): every z_i is checked against the signer's verification share (RFC 9591
 *   §5.4) before aggregation, so a bad share names its signer.
 */
import { ed25519, ed25519_FROST } from '@noble/curves/ed25519.js';
import { type TArg } from '@noble/curves/utils.js';
import { type EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { type FrostPublic, type NonceCommitments } from '@noble/curves/abstract/frost.js';
import { ByteWriter, decodeAll, DecodeError } from '../encoding.ts';
import {
  ProtocolAbort,
  type KeygenOutput,
  type MpcParty,
  type PartyId,
  type SessionContext,
  type ThresholdScheme,
} from '../types.ts';
import { ed25519Group } from './ed25519-group.ts';
import { decodeElementAs } from './group.ts';
import { createDkgParty } from './keygen.ts';
import { decodeKeyShare, decodePublicInfo, encodeKeyShare, encodePublicInfo, type PublicKeyInfo } from './key-share.ts';
import { blame, blameLocal, checkSigningContext, onePerSender, partyIndex, RoundCounter } from './session.ts';

const SUITE = 'FROST-ED25519-SHA512-v1';
const SHARE_TAG = 'custos/frost-ed25519/key-share';
const PUBLIC_TAG = 'custos/frost-ed25519/public-info';
/** Format tags of the serialised key share and public info (see key-share.ts). */
export const FROST_ED25519_FORMATS = { keyShare: SHARE_TAG, publicInfo: PUBLIC_TAG } as const;
const WIRE_VERSION = 1;
const KIND_NONCE_COMMITMENT = 3;
const KIND_SIGNATURE_SHARE = 4;

const group = ed25519Group;
const identifier = (index: number): string => ed25519_FROST.Identifier.fromNumber(index);

/** A signer's nonce commitment pair, by holder index. */
interface IndexedCommitment {
  readonly index: number;
  readonly hiding: EdwardsPoint;
  readonly binding: EdwardsPoint;
}

/** What each signer returns: the commitment list it signed against and its share z_i. */
interface SignatureShare {
  readonly commitments: readonly IndexedCommitment[];
  readonly z: bigint;
}

function encodeNonceCommitment(hiding: Uint8Array, binding: Uint8Array): Uint8Array {
  return new ByteWriter().u8(WIRE_VERSION).u8(KIND_NONCE_COMMITMENT).bytes(hiding).bytes(binding).finish();
}

function decodeNonceCommitment(payload: Uint8Array, index: number): IndexedCommitment {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_NONCE_COMMITMENT, 'message kind');
    const hiding = decodeElementAs(group, r.bytes(32), 'hiding nonce commitment');
    const binding = decodeElementAs(group, r.bytes(32), 'binding nonce commitment');
    return { index, hiding, binding };
  });
}

function encodeSignatureShare(share: SignatureShare): Uint8Array {
  const w = new ByteWriter().u8(WIRE_VERSION).u8(KIND_SIGNATURE_SHARE).u16(share.commitments.length);
  for (const c of share.commitments) w.u16(c.index).bytes(c.hiding.toBytes()).bytes(c.binding.toBytes());
  return w.bytes(group.encodeScalar(share.z)).finish();
}

function decodeSignatureShare(payload: Uint8Array): SignatureShare {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_SIGNATURE_SHARE, 'message kind');
    const count = r.u16();
    const commitments: IndexedCommitment[] = [];
    for (let k = 0; k < count; k++) {
      const index = r.u16();
      if (k > 0 && index <= commitments[k - 1]!.index) throw new DecodeError('commitment list not strictly ordered');
      const hiding = decodeElementAs(group, r.bytes(32), 'hiding nonce commitment');
      const binding = decodeElementAs(group, r.bytes(32), 'binding nonce commitment');
      commitments.push({ index, hiding, binding });
    }
    return { commitments, z: group.decodeScalar(r.bytes(32)) };
  });
}

const toNoble = (c: IndexedCommitment): TArg<NonceCommitments> => ({
  identifier: identifier(c.index),
  hiding: c.hiding.toBytes(),
  binding: c.binding.toBytes(),
});

const sameCommitment = (a: IndexedCommitment, b: IndexedCommitment): boolean =>
  a.index === b.index && a.hiding.equals(b.hiding) && a.binding.equals(b.binding);

function noblePublic(info: PublicKeyInfo<EdwardsPoint>, publicKey: Uint8Array): FrostPublic {
  const verifyingShares: Record<string, Uint8Array> = {};
  info.verificationShares.forEach((v, i) => (verifyingShares[identifier(i + 1)] = v.toBytes()));
  return {
    signers: { min: info.threshold, max: info.holders.length },
    commitments: [publicKey],
    verifyingShares,
  } as FrostPublic;
}

function keygen(ctx: SessionContext): MpcParty<KeygenOutput> {
  const dkg = createDkgParty(group, SUITE, ctx);
  return {
    rounds: dkg.rounds,
    round: (r, inbound) => dkg.round(r, inbound),
    finish(inbound) {
      const result = dkg.finish(inbound);
      const info = { threshold: ctx.threshold, holders: ctx.holders, verificationShares: result.verificationShares };
      return {
        publicKey: result.groupKey.toBytes(),
        publicInfo: encodePublicInfo(group, PUBLIC_TAG, info),
        secretShare: encodeKeyShare(group, SHARE_TAG, { ...info, ...result }),
      };
    },
  };
}

function sign(ctx: SessionContext, secretShare: Uint8Array, message: Uint8Array): MpcParty<Uint8Array> {
  checkSigningContext(ctx);
  const key = blameLocal('stored key share', () => decodeKeyShare(group, SHARE_TAG, secretShare));
  if (key.threshold !== ctx.threshold || key.holders.join('\n') !== ctx.holders.join('\n')) {
    throw new ProtocolAbort(undefined, 'key share does not belong to this session’s holders and threshold');
  }
  if (key.index !== partyIndex(ctx.holders, ctx.self))
    throw new ProtocolAbort(undefined, 'key share of another holder');
  const self = key.index;
  const others = ctx.parties.filter((p) => p !== ctx.self);
  const counter = new RoundCounter(1);
  const secret = { identifier: identifier(self), signingShare: group.encodeScalar(key.secretShare) };
  let nonces: ReturnType<typeof ed25519_FROST.commit> | undefined;
  const wipe = (): void => {
    secret.signingShare.fill(0);
    nonces?.nonces.hiding.fill(0);
    nonces?.nonces.binding.fill(0);
  };

  return {
    rounds: [{ broadcast: true, p2p: false }],
    round(r, inbound) {
      counter.enter(r);
      if (inbound.length > 0) {
        wipe();
        throw new ProtocolAbort(inbound[0]!.from, 'unexpected message before round 0');
      }
      nonces = ed25519_FROST.commit(secret);
      return [{ payload: encodeNonceCommitment(nonces.commitments.hiding, nonces.commitments.binding) }];
    },
    finish(inbound) {
      counter.finish();
      try {
        const payloads = onePerSender(inbound, others, true);
        const commitments: IndexedCommitment[] = [
          {
            index: self,
            hiding: group.decodeElement(nonces!.commitments.hiding),
            binding: group.decodeElement(nonces!.commitments.binding),
          },
        ];
        for (const from of others) {
          const index = partyIndex(ctx.holders, from);
          commitments.push(
            blame(from, 'malformed nonce commitment', () => decodeNonceCommitment(payloads.get(from)!, index)),
          );
        }
        commitments.sort((a, b) => a.index - b.index);
        const pub = noblePublic(key, key.groupKey.toBytes());
        const z = ed25519_FROST.signShare(secret, pub, nonces!.nonces, commitments.map(toNoble), message);
        return encodeSignatureShare({ commitments, z: group.decodeScalar(z) });
      } finally {
        wipe();
      }
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
  const info = blameLocal('public info', () => decodePublicInfo(group, PUBLIC_TAG, publicInfo));
  if (info.threshold !== ctx.threshold || info.holders.join('\n') !== ctx.holders.join('\n')) {
    throw new ProtocolAbort(undefined, 'public info does not match the key’s holders and threshold');
  }
  blameLocal('group public key', () => group.decodeElement(publicKey));
  const signers = [...outputs.keys()].map((id) => ({ id, index: partyIndex(ctx.holders, id) }));
  signers.sort((a, b) => a.index - b.index);
  if (signers.length < ctx.threshold) {
    throw new ProtocolAbort(
      undefined,
      `${signers.length} signature shares are fewer than the threshold ${ctx.threshold}`,
    );
  }
  const shares = new Map(
    signers.map((s) => [
      s.id,
      blame(s.id, 'malformed signature share', () => decodeSignatureShare(outputs.get(s.id)!)),
    ]),
  );

  // Each signer is authoritative for its own nonce commitment.
  const authoritative: IndexedCommitment[] = [];
  for (const s of signers) {
    const share = shares.get(s.id)!;
    if (share.commitments.map((c) => c.index).join() !== signers.map((x) => x.index).join()) {
      throw new ProtocolAbort(s.id, 'signed for a different set of signers');
    }
    authoritative.push(share.commitments.find((c) => c.index === s.index)!);
  }
  const pub = noblePublic(info, publicKey);
  for (const s of signers) {
    const share = shares.get(s.id)!;
    const ok = ed25519_FROST.verifyShare(
      pub,
      share.commitments.map(toNoble),
      message,
      identifier(s.index),
      group.encodeScalar(share.z),
    );
    if (!ok) throw new ProtocolAbort(s.id, 'invalid signature share');
  }
  for (const s of signers) {
    const seen = shares.get(s.id)!.commitments;
    const differs = authoritative.find((a, k) => !sameCommitment(a, seen[k]!));
    if (differs) {
      // Either the owner broadcast different commitments to different signers or this signer
      // misreports what it received; the shares alone cannot tell which.
      const owner = signers.find((x) => x.index === differs.index)!.id;
      throw new ProtocolAbort(
        undefined,
        `signers disagree on ${owner}’s nonce commitment (seen differently by ${s.id})`,
      );
    }
  }
  const sigShares: Record<string, Uint8Array> = {};
  for (const s of signers) sigShares[identifier(s.index)] = group.encodeScalar(shares.get(s.id)!.z);
  const signature = ed25519_FROST.aggregate(pub, authoritative.map(toNoble), message, sigShares);
  if (!verify(signature, message, publicKey)) throw new ProtocolAbort(undefined, 'aggregate signature does not verify');
  return signature;
}

/** RFC 8032 verification (canonical encodings, cofactored equation as noble implements it). */
function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export const frostEd25519Scheme: ThresholdScheme = {
  algo: 'EDDSA',
  keygen,
  sign,
  combine,
  verify,
};
