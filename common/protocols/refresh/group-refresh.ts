/**
 * Share refresh for the schemes whose shares are plain Shamir shares in a prime-order group with
 * the frost/key-share.ts formats (EDDSA over Ed25519, BLS over G1): a zero-sharing
 * (zero-sharing.ts) added to every share and verification share. The group key, and so every
 * address, stays the same.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeTranscript } from '../encoding.ts';
import { baseMultiply, type GroupElement, type PrimeOrderGroup } from '../frost/group.ts';
import { decodeKeyShare, encodeKeyShare, encodePublicInfo, type KeyShare } from '../frost/key-share.ts';
import { blameLocal, partyIndex, sameParties } from '../frost/session.ts';
import { ProtocolAbort, type KeygenOutput, type MpcParty, type SessionContext } from '../types.ts';
import { createZeroSharingParty } from './zero-sharing.ts';

export interface ShareFormats {
  readonly keyShare: string;
  readonly publicInfo: string;
}

/** SHA-256 over the format tag, the group key and the public info: the state a refresh starts from. */
export function groupStateDigest<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  formats: ShareFormats,
  share: KeyShare<P>,
): Uint8Array {
  return sha256(
    encodeTranscript([
      formats.publicInfo,
      group.encodeElement(share.groupKey),
      encodePublicInfo(group, formats.publicInfo, share),
    ]),
  );
}

/** This holder's refresh party; its output keeps the public key and carries a new share and public info. */
export function createGroupRefreshParty<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  suite: string,
  formats: ShareFormats,
  ctx: SessionContext,
  secretShare: Uint8Array,
): MpcParty<KeygenOutput> {
  const share = blameLocal('stored key share', () => decodeKeyShare(group, formats.keyShare, secretShare));
  if (
    share.threshold !== ctx.threshold ||
    !sameParties(share.holders, ctx.holders) ||
    share.index !== partyIndex(ctx.holders, ctx.self)
  ) {
    throw new ProtocolAbort(undefined, 'refresh parameters do not match the stored key share');
  }
  const zero = createZeroSharingParty(group, suite, ctx, groupStateDigest(group, formats, share));
  return {
    rounds: zero.rounds,
    round: (r, inbound) => zero.round(r, inbound),
    finish(inbound) {
      const { delta, publicDeltas } = zero.finish(inbound);
      const next = (share.secretShare + delta) % group.order;
      const verificationShares = share.verificationShares.map((v, k) => v.add(publicDeltas[k]!));
      // Zero shares or identity verification shares have negligible probability with one honest dealer.
      if (next === 0n || verificationShares.some((v) => v.is0())) {
        throw new ProtocolAbort(undefined, 'refresh produced a degenerate share; retry');
      }
      if (!baseMultiply(group, next).equals(verificationShares[share.index - 1]!)) {
        throw new ProtocolAbort(undefined, 'refreshed share does not match its verification share');
      }
      const refreshed: KeyShare<P> = { ...share, secretShare: next, verificationShares };
      return {
        publicKey: group.encodeElement(share.groupKey),
        publicInfo: encodePublicInfo(group, formats.publicInfo, refreshed),
        secretShare: encodeKeyShare(group, formats.keyShare, refreshed),
      };
    },
  };
}
