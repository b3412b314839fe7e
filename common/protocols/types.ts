/**
 * The contract between an MPC protocol (pure round functions, no I/O) and the node runtime that
 * carries its messages through the gateway relay. Every protocol in common/protocols implements it.
 */

/** A participant's id: the node id of the TSS node that plays it ("tss1".."tss4"). */
export type PartyId = string;

/** Who runs a session, and what it is bound to. */
export interface SessionContext {
  /** Unique per session; bound into every Fiat–Shamir transcript and every envelope. */
  readonly sessionId: string;
  /**
   * The key this session generates or signs with. Bound into every transcript the protocol
   * defines, so that a message or proof from a session for one key is refused in a session for
   * another, even with an equal session id and parties.
   */
  readonly keyId: string;
  /** This party. */
  readonly self: PartyId;
  /**
   * All participants of this session, sorted. A party's protocol index is its position + 1 in
   * `holders` (the key's shard holders, fixed at keygen), not in `parties` (the signing subset).
   */
  readonly parties: readonly PartyId[];
  /** Shard holders of the key in index order (equals `parties` during keygen). */
  readonly holders: readonly PartyId[];
  /** Signatures need `threshold` shares. */
  readonly threshold: number;
}

/** A message emitted in a round: to one party (point-to-point, encrypted by the runtime) or, with no `to`, broadcast. */
export interface OutboundMessage {
  readonly to?: PartyId;
  readonly payload: Uint8Array;
}

/** A message delivered to a party: authenticated (and decrypted) by the runtime. */
export interface InboundMessage {
  readonly from: PartyId;
  readonly broadcast: boolean;
  readonly payload: Uint8Array;
}

/** What every party receives from every other party in one round. */
export interface RoundSpec {
  readonly broadcast: boolean;
  readonly p2p: boolean;
}

/**
 * One party of one protocol run. The runtime calls `round(0, [])`, sends its output, collects the
 * messages `rounds[0]` announces from every other party, calls `round(1, those)`, and so on; after
 * the last round it calls `finish` with the last round's messages (for zero rounds, `finish([])`).
 * Throw ProtocolAbort to stop the session and name a cheater.
 */
export interface MpcParty<Output> {
  readonly rounds: readonly RoundSpec[];
  round(r: number, inbound: readonly InboundMessage[]): OutboundMessage[];
  finish(inbound: readonly InboundMessage[]): Output;
}

/** The result of a DKG at one party. */
export interface KeygenOutput {
  /** The group public key in the algorithm's canonical encoding (identical at every party). */
  readonly publicKey: Uint8Array;
  /** Public data everybody agrees on (e.g. verification shares); stored by the gateway. */
  readonly publicInfo: Uint8Array;
  /** This party's secret share, serialised; the runtime encrypts it before it touches disk. */
  readonly secretShare: Uint8Array;
}

/** A session aborted by a protocol check; `culprit` names the party whose message failed it. */
export class ProtocolAbort extends Error {
  constructor(
    readonly culprit: PartyId | undefined,
    message: string,
  ) {
    super(culprit ? `${message} (culprit: ${culprit})` : message);
    this.name = 'ProtocolAbort';
  }
}

/** A message one party sent in a session, as an abort's evidence shows it (authenticity checked by the caller). */
export interface SentMessage {
  readonly from: PartyId;
  readonly round: number;
  /** Recipient, or undefined for a broadcast. */
  readonly to?: PartyId;
  readonly payload: Uint8Array;
}

/**
 * A re-run of the checks that `accused`'s messages must pass, on public data only: `guilty`
 * when one fails, not guilty when all pass. Undefined when these messages cannot decide it.
 */
export type AbortVerdict = { readonly guilty: boolean; readonly reason: string } | undefined;

/**
 * An algorithm as the node runtime and the gateway see it. Signing yields one output per signer;
 * the gateway's `combine` verifies them (naming a bad signer) and returns the final signature.
 */
export interface ThresholdScheme {
  readonly algo: string;
  keygen(ctx: SessionContext): MpcParty<KeygenOutput>;
  /**
   * Keygen whose party first needs resources fetched asynchronously (GG18's Paillier
   * pre-params); the node runtime prefers it over `keygen` when present.
   */
  prepareKeygen?(ctx: SessionContext): Promise<MpcParty<KeygenOutput>>;
  /**
   * Proactive refresh among all holders (docs/key-lifecycle.md): same public key, new shares that
   * cannot be combined with old ones. Outputs the unchanged public key, new public info and share.
   */
  refresh?(ctx: SessionContext, secretShare: Uint8Array): MpcParty<KeygenOutput>;
  /** Refresh whose party first needs asynchronous resources (GG18's fresh Paillier pre-params). */
  prepareRefresh?(ctx: SessionContext, secretShare: Uint8Array): Promise<MpcParty<KeygenOutput>>;
  sign(ctx: SessionContext, secretShare: Uint8Array, message: Uint8Array): MpcParty<Uint8Array>;
  combine(
    outputs: ReadonlyMap<PartyId, Uint8Array>,
    publicInfo: Uint8Array,
    publicKey: Uint8Array,
    message: Uint8Array,
    ctx: { holders: readonly PartyId[]; threshold: number },
  ): Uint8Array;
  /**
   * Judges an accusation from the accused's authenticated messages (and other parties' broadcasts)
   * of a session of `kind`; absent when the algorithm's aborts cannot be judged from public data.
   */
  judge?(
    ctx: SessionContext,
    kind: 'KEYGEN' | 'SIGN' | 'REFRESH',
    accused: PartyId,
    accuser: PartyId,
    messages: readonly SentMessage[],
  ): AbortVerdict;
  /** Verifies a final signature with the standard, non-threshold verifier. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}
