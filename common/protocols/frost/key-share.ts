/**
 * Versioned, self-describing serialisations of a DKG result: the secret key share a holder keeps
 * (everything it needs to sign later) and the public info the gateway stores.
 */
import { ByteWriter, decodeAll, DecodeError, type ByteReader } from '../encoding.ts';
import { ProtocolAbort, type PartyId, type SessionContext } from '../types.ts';
import { baseMultiply, decodeElementAs, type GroupElement, type PrimeOrderGroup } from './group.ts';
import { blameLocal, checkSigningContext, MAX_HOLDERS, partyIndex, sameParties } from './session.ts';

const FORMAT_VERSION = 1;
const MAX_PARTY_ID_BYTES = 255;

export interface PublicKeyInfo<P> {
  readonly threshold: number;
  /** Shard holders in index order. */
  readonly holders: readonly PartyId[];
  /** s_k·G for every holder, in holder order. */
  readonly verificationShares: readonly P[];
}

export interface KeyShare<P> extends PublicKeyInfo<P> {
  /** This holder's 1-based index. */
  readonly index: number;
  readonly secretShare: bigint;
  readonly groupKey: P;
}

function writeHeader(w: ByteWriter, tag: string, threshold: number, holders: readonly PartyId[]): void {
  w.string(tag).u8(FORMAT_VERSION).u16(threshold).u16(holders.length);
  for (const h of holders) w.string(h);
}

function readHeader(r: ByteReader, tag: string): { threshold: number; holders: PartyId[] } {
  r.expectString(tag, 'format tag');
  r.expectU8(FORMAT_VERSION, 'format version');
  const threshold = r.u16();
  const n = r.u16();
  if (n < 2 || n > MAX_HOLDERS) throw new DecodeError(`holder count ${n} out of range`);
  if (threshold < 2 || threshold > n) throw new DecodeError(`threshold ${threshold} out of range for ${n} holders`);
  const holders = Array.from({ length: n }, () => r.string(MAX_PARTY_ID_BYTES));
  if (new Set(holders).size !== n) throw new DecodeError('duplicate holder');
  return { threshold, holders };
}

function readElements<P extends GroupElement<P>>(
  r: ByteReader,
  group: PrimeOrderGroup<P>,
  count: number,
  what: string,
): P[] {
  return Array.from({ length: count }, (_, i) =>
    decodeElementAs(group, r.bytes(group.elementLength), `${what} ${i + 1}`),
  );
}

export function encodePublicInfo<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  tag: string,
  info: PublicKeyInfo<P>,
): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, tag, info.threshold, info.holders);
  for (const v of info.verificationShares) w.bytes(group.encodeElement(v));
  return w.finish();
}

export function decodePublicInfo<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  tag: string,
  bytes: Uint8Array,
): PublicKeyInfo<P> {
  return decodeAll(bytes, (r) => {
    const { threshold, holders } = readHeader(r, tag);
    return { threshold, holders, verificationShares: readElements(r, group, holders.length, 'verification share') };
  });
}

/** The secret serialisation; the caller zeroes the returned buffer once it is handed over. */
export function encodeKeyShare<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  tag: string,
  share: KeyShare<P>,
): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, tag, share.threshold, share.holders);
  const secret = group.encodeScalar(share.secretShare);
  w.u16(share.index).bytes(secret).bytes(group.encodeElement(share.groupKey));
  secret.fill(0);
  for (const v of share.verificationShares) w.bytes(group.encodeElement(v));
  return w.finish();
}

/** Decodes and checks a key share: its secret must match its own verification share. */
export function decodeKeyShare<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  tag: string,
  bytes: Uint8Array,
): KeyShare<P> {
  const share = decodeAll(bytes, (r) => {
    const { threshold, holders } = readHeader(r, tag);
    const index = r.u16();
    if (index < 1 || index > holders.length) throw new DecodeError(`index ${index} out of range`);
    const secretBytes = r.bytes(group.scalarLength);
    let secretShare: bigint;
    try {
      secretShare = group.decodeScalar(secretBytes);
    } finally {
      secretBytes.fill(0);
    }
    // The public tail (group key, verification shares) is the same on every sign with this key:
    // decode it once, since strict decoding (a subgroup check per point) dominates signing.
    const publicTail = r.bytes(group.elementLength * (1 + holders.length));
    const { groupKey, verificationShares } = memo(
      `${group.name}|${tag}|share-public|${Buffer.from(publicTail).toString('hex')}`,
      () =>
        decodeAll(publicTail, (t) => ({
          groupKey: decodeElementAs(group, t.bytes(group.elementLength), 'group key'),
          verificationShares: readElements(t, group, holders.length, 'verification share'),
        })),
    );
    return { threshold, holders, index, secretShare, groupKey, verificationShares };
  });
  if (!baseMultiply(group, share.secretShare).equals(share.verificationShares[share.index - 1]!)) {
    throw new DecodeError('secret share does not match its verification share');
  }
  return share;
}

const MAX_CACHED = 256;
const decodedPublicData = new Map<string, unknown>();

/** A small LRU of decoded public data; failures are not cached. */
function memo<T>(key: string, decode: () => T): T {
  const hit = decodedPublicData.get(key);
  if (hit !== undefined) {
    decodedPublicData.delete(key);
    decodedPublicData.set(key, hit);
    return hit as T;
  }
  const value = decode();
  decodedPublicData.set(key, value);
  if (decodedPublicData.size > MAX_CACHED) decodedPublicData.delete(decodedPublicData.keys().next().value!);
  return value;
}

/**
 * decodePublicInfo, memoised: the gateway combines many signatures under one key, and strict
 * decoding (a subgroup check per verification share) dominates the cost of small combines.
 */
export function decodePublicInfoCached<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  tag: string,
  bytes: Uint8Array,
): PublicKeyInfo<P> {
  return memo(`${group.name}|${tag}|${Buffer.from(bytes).toString('hex')}`, () => decodePublicInfo(group, tag, bytes));
}

/** group.decodeElement for a group public key, memoised like decodePublicInfoCached. */
export function decodeGroupKeyCached<P extends GroupElement<P>>(group: PrimeOrderGroup<P>, bytes: Uint8Array): P {
  return memo(`${group.name}|group-key|${Buffer.from(bytes).toString('hex')}`, () => group.decodeElement(bytes));
}

/** This party's stored share for a signing session, checked to belong to the session's key and party. */
export function signingKeyShare<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  tag: string,
  secretShare: Uint8Array,
  ctx: SessionContext,
): KeyShare<P> {
  checkSigningContext(ctx);
  const key = blameLocal('stored key share', () => decodeKeyShare(group, tag, secretShare));
  if (key.threshold !== ctx.threshold || !sameParties(key.holders, ctx.holders)) {
    throw new ProtocolAbort(undefined, 'key share does not belong to this session’s holders and threshold');
  }
  if (key.index !== partyIndex(ctx.holders, ctx.self))
    throw new ProtocolAbort(undefined, 'key share of another holder');
  return key;
}

/**
 * What the gateway's combine starts from: the key's public info and group key (checked against
 * the session's holders and threshold) and the signers, by holder index, at least `threshold`.
 */
export function combineInputs<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  tag: string,
  publicInfo: Uint8Array,
  publicKey: Uint8Array,
  outputs: ReadonlyMap<PartyId, Uint8Array>,
  ctx: { holders: readonly PartyId[]; threshold: number },
  what: string,
): { info: PublicKeyInfo<P>; groupKey: P; signers: { id: PartyId; index: number }[] } {
  const info = blameLocal('public info', () => decodePublicInfoCached(group, tag, publicInfo));
  if (info.threshold !== ctx.threshold || !sameParties(info.holders, ctx.holders)) {
    throw new ProtocolAbort(undefined, 'public info does not match the key’s holders and threshold');
  }
  const groupKey = blameLocal('group public key', () => decodeGroupKeyCached(group, publicKey));
  const signers = [...outputs.keys()].map((id) => ({ id, index: partyIndex(ctx.holders, id) }));
  signers.sort((a, b) => a.index - b.index);
  if (signers.length < ctx.threshold) {
    throw new ProtocolAbort(undefined, `${signers.length} ${what} are fewer than the threshold ${ctx.threshold}`);
  }
  return { info, groupKey, signers };
}
