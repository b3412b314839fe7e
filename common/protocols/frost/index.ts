/**
 * Threshold EdDSA: FROST(Ed25519, SHA-512) per RFC 9591 (rfc9591.ts), with the FROST KeyGen DKG
 * (keygen.ts). Final signatures are plain Ed25519.
 *
 * Sign round 0 (broadcast): the signer's nonce commitments (D_i, E_i).
 * Sign finish: the signer's share z_i, output with the commitment list it signed against and the
 *   group commitment R it computed from that list.
 * combine (gateway): when every signer reports the same list and R, the signature is (R, Σz_i),
 *   verified as plain Ed25519 against the group key; otherwise, or if it fails, R is recomputed
 *   from the decoded list and, if that aggregate fails too, every z_i is checked against the
 *   signer's verification share (RFC 9591 §5.4), a bad share naming its signer.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, equalBytes } from '@noble/curves/utils.js';
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
import { createDkgParty, judgeDkg } from './keygen.ts';
import { combineInputs, signingKeyShare, encodeKeyShare, encodePublicInfo } from './key-share.ts';
import {
  aggregate,
  commit,
  signingPackage,
  signShare,
  verifyShare,
  type NonceCommitment,
  type SigningNonces,
} from './rfc9591.ts';
import { createGroupRefreshParty } from '../refresh/group-refresh.ts';
import { blame, onePerSender, partyIndex, RoundCounter } from './session.ts';

const SUITE = 'FROST-ED25519-SHA512-v1';
const SHARE_TAG = 'custos/frost-ed25519/key-share';
const PUBLIC_TAG = 'custos/frost-ed25519/public-info';
/** Format tags of the serialised key share and public info (see key-share.ts). */
export const FROST_ED25519_FORMATS = { keyShare: SHARE_TAG, publicInfo: PUBLIC_TAG } as const;
const WIRE_VERSION = 1;
const KIND_NONCE_COMMITMENT = 3;
const KIND_SIGNATURE_SHARE = 4;
/** u16 index, hiding commitment, binding commitment. */
const ENTRY_LENGTH = 2 + 32 + 32;

const group = ed25519Group;

function encodeNonceCommitment(c: NonceCommitment): Uint8Array {
  return new ByteWriter()
    .u8(WIRE_VERSION)
    .u8(KIND_NONCE_COMMITMENT)
    .bytes(c.hiding.toBytes())
    .bytes(c.binding.toBytes())
    .finish();
}

function decodeNonceCommitment(payload: Uint8Array, index: number): NonceCommitment {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_NONCE_COMMITMENT, 'message kind');
    const hiding = decodeElementAs(group, r.bytes(32), 'hiding nonce commitment');
    const binding = decodeElementAs(group, r.bytes(32), 'binding nonce commitment');
    return { index, hiding, binding };
  });
}

function encodeSignatureShare(list: readonly NonceCommitment[], groupCommitment: Uint8Array, z: bigint): Uint8Array {
  const w = new ByteWriter().u8(WIRE_VERSION).u8(KIND_SIGNATURE_SHARE).u16(list.length);
  for (const c of list) w.u16(c.index).bytes(c.hiding.toBytes()).bytes(c.binding.toBytes());
  return w.bytes(groupCommitment).bytes(group.encodeScalar(z)).finish();
}

/** A signer's output with its commitment list and group commitment left encoded (compared as bytes). */
interface SignerOutput {
  readonly indices: readonly number[];
  readonly entries: readonly Uint8Array[];
  readonly groupCommitment: Uint8Array;
  readonly z: bigint;
}

function parseSignatureShare(payload: Uint8Array): SignerOutput {
  return decodeAll(payload, (r) => {
    r.expectU8(WIRE_VERSION, 'wire version');
    r.expectU8(KIND_SIGNATURE_SHARE, 'message kind');
    const count = r.u16();
    const entries = Array.from({ length: count }, () => r.bytes(ENTRY_LENGTH));
    const indices = entries.map((e) => (e[0]! << 8) | e[1]!);
    if (indices.some((x, k) => k > 0 && x <= indices[k - 1]!)) {
      throw new DecodeError('commitment list not strictly ordered');
    }
    return { indices, entries, groupCommitment: r.bytes(32), z: group.decodeScalar(r.bytes(32)) };
  });
}

function decodeEntry(entry: Uint8Array): NonceCommitment {
  return {
    index: (entry[0]! << 8) | entry[1]!,
    hiding: decodeElementAs(group, entry.subarray(2, 34), 'hiding nonce commitment'),
    binding: decodeElementAs(group, entry.subarray(34), 'binding nonce commitment'),
  };
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
  const key = signingKeyShare(group, SHARE_TAG, secretShare, ctx);
  const others = ctx.parties.filter((p) => p !== ctx.self);
  const counter = new RoundCounter(1);
  let nonces: SigningNonces | undefined;
  let own: NonceCommitment | undefined;

  return {
    rounds: [{ broadcast: true, p2p: false }],
    round(r, inbound) {
      counter.enter(r);
      if (inbound.length > 0) throw new ProtocolAbort(inbound[0]!.from, 'unexpected message before round 0');
      ({ nonces, commitment: own } = commit(key.index, key.secretShare));
      return [{ payload: encodeNonceCommitment(own) }];
    },
    finish(inbound) {
      counter.finish();
      try {
        const payloads = onePerSender(inbound, others, true);
        const list = [own!];
        for (const from of others) {
          const index = partyIndex(ctx.holders, from);
          list.push(blame(from, 'malformed nonce commitment', () => decodeNonceCommitment(payloads.get(from)!, index)));
        }
        list.sort((a, b) => a.index - b.index);
        const pkg = signingPackage(key.groupKey, list, message);
        const z = signShare(key.index, key.secretShare, nonces!, pkg);
        return encodeSignatureShare(list, pkg.groupCommitment.toBytes(), z);
      } finally {
        // One-time nonces: never usable again, whatever happened.
        nonces = undefined;
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
  const { info, groupKey, signers } = combineInputs(
    group,
    PUBLIC_TAG,
    publicInfo,
    publicKey,
    outputs,
    ctx,
    'signature shares',
  );
  const expected = signers.map((s) => s.index).join();
  const parsed = signers.map((s) => {
    const out = blame(s.id, 'malformed signature share', () => parseSignatureShare(outputs.get(s.id)!));
    if (out.indices.join() !== expected) throw new ProtocolAbort(s.id, 'signed for a different set of signers');
    return { ...s, ...out, position: signers.indexOf(s) };
  });
  const agreed = parsed.every((p) => p.entries.every((e, k) => equalBytes(e, parsed[k]!.entries[k]!)));
  if (agreed && parsed.every((p) => equalBytes(p.groupCommitment, parsed[0]!.groupCommitment))) {
    // The signers' common R: the verification against the group key is what vouches for it.
    const z = parsed.reduce((acc, p) => (acc + p.z) % ed25519.Point.Fn.ORDER, 0n);
    const signature = concatBytes(parsed[0]!.groupCommitment, group.encodeScalar(z));
    if (verify(signature, message, publicKey)) return signature;
  }
  // Signer k is authoritative for its own entry; decode each entry once, blaming its owner.
  const list = parsed.map((p) => blame(p.id, 'own nonce commitment', () => decodeEntry(p.entries[p.position]!)));

  if (!agreed) {
    // Blame a signer whose share fails under its own view first; otherwise nobody can be blamed.
    for (const p of parsed) {
      const view = blame(p.id, 'nonce commitment list', () => p.entries.map(decodeEntry));
      if (
        !verifyShare(
          view[p.position]!,
          p.z,
          info.verificationShares[p.index - 1]!,
          signingPackage(groupKey, view, message),
        )
      ) {
        throw new ProtocolAbort(p.id, 'invalid signature share');
      }
    }
    const j = parsed.find((p) => p.entries.some((e, k) => !equalBytes(e, parsed[k]!.entries[k]!)))!;
    const k = j.entries.findIndex((e, m) => !equalBytes(e, parsed[m]!.entries[m]!));
    // The owner broadcast different commitments, or j misreports what it received.
    throw new ProtocolAbort(
      undefined,
      `signers disagree on ${parsed[k]!.id}’s nonce commitment (seen differently by ${j.id})`,
    );
  }

  const pkg = signingPackage(groupKey, list, message);
  const signature = aggregate(
    pkg,
    parsed.map((p) => p.z),
  );
  if (verify(signature, message, publicKey)) return signature;
  // RFC 9591 §5.3: a valid aggregate needs no share checks; only a failed one is traced to its signer.
  for (const p of parsed) {
    if (!verifyShare(list[p.position]!, p.z, info.verificationShares[p.index - 1]!, pkg)) {
      throw new ProtocolAbort(p.id, 'invalid signature share');
    }
  }
  throw new ProtocolAbort(undefined, 'aggregate signature does not verify: public info does not match the public key');
}

/** RFC 8032 verification with canonical encodings (noble, zip215 off). */
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
  refresh: (ctx, secretShare) => createGroupRefreshParty(group, SUITE, FROST_ED25519_FORMATS, ctx, secretShare),
  sign,
  combine,
  verify,
  judge: (ctx, kind, accused, accuser, messages) =>
    kind === 'KEYGEN' ? judgeDkg(group, SUITE, ctx, accused, accuser, messages) : undefined,
};
