/**
 * One MPC session at a node: drives a protocol party (pure round functions) round by round,
 * opening inbound envelopes and sealing outbound ones. Nothing is written until the gateway
 * commits a keygen whose results agreed at every node.
 *
 * Point-to-point messages are encrypted under per-session keys (common/envelope/session-keys.ts):
 * every node's round-0 broadcast carries its signed ephemeral key, a round-0 point-to-point
 * message waits until its recipient's key has arrived, and the keys are erased after the last round.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import {
  EnvelopeError,
  decryptEnvelope,
  sealEnvelope,
  verifyEnvelope,
  type EnvelopeKeys,
} from '../../common/envelope/envelope.ts';
import { SessionKeys } from '../../common/envelope/session-keys.ts';
import type { Envelope, NodeFrame, SessionErrorCode, SessionStart } from '../../common/rpc/tss-service.ts';
import {
  ProtocolAbort,
  type InboundMessage,
  type KeygenOutput,
  type MpcParty,
  type OutboundMessage,
  type SessionContext,
  type ThresholdScheme,
} from '../../common/protocols/types.ts';
import { ShareStoreError, type ShareRecord } from '../storage/share-store.ts';
import {
  GATEWAY_TRUSTED_POLICY,
  SignAuthorizationSchema,
  SignPolicySchema,
  keygenTranscriptId,
  type SignAuthorization,
  type SignPolicy,
} from '../../common/authz/client-keys.ts';
import { AuthorizationError, checkSignAuthorization, type NonceReplayCache } from '../authz/client-authorization.ts';
import {
  buildEvidence,
  judgeAccusation,
  mayRevealPairSecret,
  type AbortEvidence,
} from '../../common/abort/evidence.ts';
import { AbortLimitReached } from '../aborts/abort-limit.ts';

export interface ShareAccess {
  get(keyId: string): Promise<ShareRecord | undefined>;
  has(keyId: string): Promise<boolean>;
  put(record: ShareRecord): Promise<void>;
  /** The share at exactly `version`, in use or staged by a refresh. */
  getVersion(keyId: string, version: number): Promise<ShareRecord | undefined>;
  /** Writes a refreshed share beside the one in use (node/storage/share-store.ts). */
  stage(record: ShareRecord): Promise<void>;
}

export interface SessionDeps {
  readonly keys: EnvelopeKeys;
  /** Verifies a peer certificate against the cluster CA and its node id; returns its public key. */
  verifyPeer(nodeId: string, certificateDer: Uint8Array): KeyObject;
  readonly schemes: ReadonlyMap<string, ThresholdScheme>;
  readonly shares: ShareAccess;
  send(frame: NodeFrame): void;
  readonly log: Logger;
  /** Client nonces this node has accepted, and when it started (older authorisations are refused). */
  readonly clientNonces: NonceReplayCache;
  readonly startedAtMs: number;
  /** Sign sessions for a key that aborted without a proven culprit: counted, and refused past a limit. */
  readonly aborts: { assertOpen(keyId: string): Promise<void>; record(keyId: string): Promise<number> };
  /** Accepts a session id once, persistently (seen-sessions.ts); throws a SessionFailure otherwise. */
  claimSession(sessionId: string, deadlineMs: number): Promise<void>;
}

export class SessionFailure extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    readonly culprit = '',
  ) {
    super(message);
    this.name = 'SessionFailure';
  }
}

const MAX_ROUND_TIMEOUT_MS = 120_000;
const DEFAULT_ROUND_TIMEOUT_MS = 15_000;

type Phase = 'running' | 'awaiting-commit' | 'done' | 'failed';

/** Checks a start frame against what this node can do; pure. */
export function validateStart(start: SessionStart, self: string, schemes: ReadonlyMap<string, ThresholdScheme>): void {
  const { parties, holders, threshold } = start;
  const bad = (msg: string) => new SessionFailure('BAD_START', msg);
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(start.session_id)) throw bad('invalid session id');
  if (!/^key_[0-9a-f]{32}$/.test(start.key_id)) throw bad('invalid key id');
  if (!schemes.has(start.algo)) throw bad(`algorithm ${start.algo} is not served by this node`);
  if (start.kind !== 'KEYGEN' && start.kind !== 'SIGN' && start.kind !== 'REFRESH') throw bad('unknown session kind');
  if (new Set(holders).size !== holders.length || new Set(parties).size !== parties.length) {
    throw bad('duplicate participants');
  }
  if (!parties.includes(self)) throw bad(`${self} is not a participant`);
  if (!parties.every((p) => holders.includes(p))) throw bad('every participant must be a shard holder');
  if (!(threshold > 1 && threshold <= holders.length)) throw bad('threshold out of range');
  if (start.kind !== 'SIGN' && parties.length !== holders.length) throw bad(`${start.kind} needs every holder`);
  if (start.kind === 'REFRESH' && !schemes.get(start.algo)!.refresh && !schemes.get(start.algo)!.prepareRefresh) {
    throw bad(`${start.algo} has no share refresh`);
  }
  if (start.kind === 'SIGN' && parties.length < threshold) throw bad('fewer signers than the threshold');
  // An empty message is signed: Ed25519 (RFC 8032 test 1) and BLS define it; ECDSA schemes check their 32-byte digest.
  if (start.round_timeout_ms > MAX_ROUND_TIMEOUT_MS) throw bad('round timeout too long');
}

export class MpcSession {
  private phase: Phase = 'running';
  private round = 0;
  private party!: MpcParty<KeygenOutput> | MpcParty<Uint8Array>;
  private peerKeys = new Map<string, KeyObject>();
  private inbox = new Map<number, Map<string, InboundMessage>>();
  private timer: NodeJS.Timeout | undefined;
  private pendingShare: ShareRecord | undefined;
  private start!: SessionStart;
  private signPolicy: SignPolicy | undefined;
  /** REFRESH: the share version being refreshed. */
  private refreshing: ShareRecord | undefined;
  private ctx!: SessionContext;
  /** Every authenticated envelope of this session, kept as evidence should a sender cheat. */
  private received: Envelope[] = [];
  /** A sign protocol is running: an abort from here on counts against the key unless a culprit is proven. */
  private signing = false;
  private timeoutMs = DEFAULT_ROUND_TIMEOUT_MS;
  /** Frames are handled one at a time, in arrival order, even while a step awaits storage. */
  private queue: Promise<void> = Promise.resolve();
  private sessionKeys: SessionKeys | undefined;
  /** Round-0 point-to-point messages waiting for their recipient's session key. */
  private deferred: OutboundMessage[] = [];
  /** Verified point-to-point envelopes that arrived before their sender's session key. */
  private early: Envelope[] = [];

  constructor(private readonly deps: SessionDeps) {}

  get done(): boolean {
    return this.phase === 'done' || this.phase === 'failed';
  }

  /** Runs the first round. Failures are reported to the gateway as an error frame. */
  async begin(start: SessionStart): Promise<void> {
    await this.guard(async () => {
      const self = this.deps.keys.nodeId;
      validateStart(start, self, this.deps.schemes);
      await this.deps.claimSession(start.session_id, start.deadline_ms);
      this.start = start;
      this.timeoutMs = start.round_timeout_ms || DEFAULT_ROUND_TIMEOUT_MS;
      for (const peer of start.parties) {
        if (peer === self) continue;
        const cert = start.peer_certificates[peer];
        if (!cert) throw new SessionFailure('BAD_START', `no certificate for participant ${peer}`);
        try {
          this.peerKeys.set(peer, this.deps.verifyPeer(peer, cert));
        } catch (e) {
          throw new SessionFailure('AUTH_FAILED', `certificate of ${peer} rejected: ${(e as Error).message}`, peer);
        }
      }
      const scheme = this.deps.schemes.get(start.algo)!;
      const policy =
        start.kind === 'KEYGEN' ? parseJsonField(start.sign_policy, SignPolicySchema, 'sign policy') : undefined;
      const ctx: SessionContext = {
        // Keygen binds the sign policy into every transcript: holders given different policies cannot finish.
        sessionId: start.kind === 'KEYGEN' ? keygenTranscriptId(start.session_id, policy) : start.session_id,
        keyId: start.key_id,
        self,
        parties: [...start.parties],
        holders: [...start.holders],
        threshold: start.threshold,
      };
      this.ctx = ctx;
      if (start.kind === 'KEYGEN') {
        if (await this.deps.shares.has(start.key_id).catch(refuseDestroyed))
          throw new SessionFailure('BAD_START', 'key id already exists');
        this.signPolicy = policy;
        this.party = scheme.prepareKeygen ? await scheme.prepareKeygen(ctx) : scheme.keygen(ctx);
      } else {
        const record = await this.shareFor(start).catch(refuseDestroyed);
        if (
          record.algo !== start.algo ||
          record.threshold !== start.threshold ||
          !sameList(record.holders, start.holders)
        ) {
          throw new SessionFailure('BAD_START', 'session parameters do not match the stored share');
        }
        if (start.kind === 'REFRESH') {
          this.refreshing = record;
          this.party = scheme.prepareRefresh
            ? await scheme.prepareRefresh(ctx, record.secretShare)
            : scheme.refresh!(ctx, record.secretShare);
          return this.firstRound(start);
        }
        this.checkClientAuthorization(record.signPolicy ?? GATEWAY_TRUSTED_POLICY, start);
        try {
          await this.deps.aborts.assertOpen(start.key_id);
        } catch (e) {
          if (e instanceof AbortLimitReached) throw new SessionFailure('ABORT_LIMIT', e.message);
          throw e;
        }
        this.signing = true;
        this.party = scheme.sign(ctx, record.secretShare, start.message);
      }
      return this.firstRound(start);
    });
  }

  private async firstRound(start: SessionStart): Promise<void> {
    if (this.party.rounds.length === 0) return this.finish([]);
    if (!this.party.rounds[0]!.broadcast) {
      throw new SessionFailure('INTERNAL', `${start.algo} round 0 has no broadcast to carry the session key`);
    }
    this.sessionKeys = new SessionKeys(start.session_id, this.deps.keys.nodeId);
    this.emit(0, this.party.round(0, []));
  }

  /**
   * The share a SIGN or REFRESH session uses: the version the gateway names (in use or staged), or
   * the one in use when it names none. A refresh always starts from the version in use.
   */
  private async shareFor(start: SessionStart): Promise<ShareRecord> {
    const self = this.deps.keys.nodeId;
    const wanted = start.share_version ?? 0;
    const record =
      wanted === 0 || start.kind === 'REFRESH'
        ? await this.deps.shares.get(start.key_id)
        : await this.deps.shares.getVersion(start.key_id, wanted);
    if (!record) {
      if (wanted !== 0 && (await this.deps.shares.has(start.key_id))) {
        throw new SessionFailure('STALE_SHARE', `${self} holds no version ${wanted} of ${start.key_id}`);
      }
      throw new SessionFailure('UNKNOWN_KEY', `${self} holds no share of ${start.key_id}`);
    }
    if (wanted !== 0 && record.version !== wanted) {
      record.secretShare.fill(0);
      throw new SessionFailure(
        'STALE_SHARE',
        `${self} uses version ${record.version} of ${start.key_id}, not ${wanted}`,
      );
    }
    return record;
  }

  /** Refuses a sign session that no authorised client asked for; the nonce is spent only once all else holds. */
  private checkClientAuthorization(policy: SignPolicy, start: SessionStart): void {
    const authorization =
      start.authorization.length === 0
        ? undefined
        : parseJsonField<SignAuthorization>(start.authorization, SignAuthorizationSchema, 'client authorisation');
    const nowMs = Date.now();
    try {
      checkSignAuthorization({
        policy,
        keyId: start.key_id,
        message: start.message,
        authorization,
        nowMs,
        notBeforeMs: this.deps.startedAtMs,
      });
      if (authorization && policy.signers.length > 0) {
        if (
          !this.deps.clientNonces.claim(
            authorization.access_key,
            authorization.nonce,
            authorization.timestamp_ms,
            nowMs,
          )
        ) {
          throw new AuthorizationError(`the client authorisation with nonce ${authorization.nonce} was already used`);
        }
      }
    } catch (e) {
      if (e instanceof AuthorizationError) throw new SessionFailure('UNAUTHORIZED', e.message);
      throw e;
    }
  }

  /** Handles a frame relayed by the gateway after `begin`. */
  async handle(frame: { frame: string; envelope?: Envelope }): Promise<void> {
    await this.guard(async () => {
      if (frame.frame === 'envelope' && frame.envelope) await this.receive(frame.envelope);
      else if (frame.frame === 'commit') await this.commit();
      else throw new SessionFailure('BAD_START', `unexpected ${frame.frame} frame`);
    });
  }

  /** The gateway went away or cancelled: forget everything, write nothing. */
  cancel(): void {
    if (this.done) return;
    this.phase = 'failed';
    this.cleanup();
    this.countUnattributed();
  }

  private countUnattributed(): void {
    if (!this.signing) return;
    const keyId = this.start.key_id;
    this.deps.aborts.record(keyId).then(
      (count) => this.deps.log.warn({ key: keyId, count }, 'sign session aborted without a proven culprit'),
      (e: unknown) => this.deps.log.error({ key: keyId, error: internalErrorSite(e) }, 'could not count an abort'),
    );
  }

  /** Evidence for an accusation, and whether this node's own judge finds the culprit guilty. */
  private evidenceAgainst(culprit: string): { evidence: AbortEvidence; proven: boolean } | undefined {
    if (!this.peerKeys.has(culprit)) return undefined;
    const self = this.deps.keys.nodeId;
    const scheme = this.deps.schemes.get(this.start.algo)!;
    // Called before cleanup erases the session keys (fail), which it does right after.
    const keys = this.sessionKeys;
    const reveal = mayRevealPairSecret(this.start.kind, scheme) && keys?.has(culprit);
    const evidence = buildEvidence({
      accuser: self,
      culprit,
      received: this.received,
      pairSecret: reveal ? keys!.pairSecret(culprit) : undefined,
    });
    const judgement = judgeAccusation({
      evidence,
      sessionId: this.start.session_id,
      kind: this.start.kind,
      ctx: this.ctx,
      scheme,
      certificateKey: (id) => (id === self ? createPublicKey(this.deps.keys.signingKey) : this.peerKeys.get(id)),
    });
    return { evidence, proven: judgement.outcome === 'guilty' };
  }

  private async receive(env: Envelope): Promise<void> {
    if (this.phase !== 'running') throw new SessionFailure('REPLAY', `envelope after the protocol ended`);
    const rounds = this.party.rounds;
    if (env.round < this.round || env.round > this.round + 1 || env.round >= rounds.length) {
      throw new SessionFailure(
        'REPLAY',
        `envelope from ${env.from} for round ${env.round} while in round ${this.round}`,
      );
    }
    const senderKey = this.peerKeys.get(env.from);
    if (!senderKey) throw new SessionFailure('AUTH_FAILED', `envelope from non-participant ${env.from}`);
    const broadcast = env.to === '';
    const spec = rounds[env.round]!;
    if (broadcast ? !spec.broadcast : !spec.p2p) {
      throw new SessionFailure(
        'AUTH_FAILED',
        `round ${env.round} carries no ${broadcast ? 'broadcast' : 'p2p'} message`,
      );
    }
    try {
      const payload = this.open(env, senderKey);
      if (payload === undefined) return; // waits for its sender's session key
      this.file(env, payload);
      if (broadcast && env.round === 0) {
        const early = this.early.filter((e) => e.from === env.from);
        this.early = this.early.filter((e) => e.from !== env.from);
        for (const e of early) this.file(e, decryptEnvelope(e, this.sessionKeys!.pairSecret(e.from)));
      }
    } catch (e) {
      if (e instanceof EnvelopeError) throw new SessionFailure('AUTH_FAILED', e.message);
      throw e;
    }
    await this.advance();
  }

  private file(env: Envelope, payload: Uint8Array): void {
    const broadcast = env.to === '';
    const slot = `${env.from}|${broadcast ? 'b' : 'p'}`;
    const box = this.inbox.get(env.round) ?? new Map<string, InboundMessage>();
    const earlier = box.get(slot);
    this.received.push(env);
    if (earlier) {
      // Both copies are signed by the sender: two different ones prove equivocation; a copy is a replay.
      if (!sameBytes(earlier.payload, payload))
        throw new ProtocolAbort(env.from, `two different round ${env.round} messages from ${env.from}`);
      throw new SessionFailure('REPLAY', `duplicate round ${env.round} message from ${env.from}`);
    }
    box.set(slot, { from: env.from, broadcast, payload });
    this.inbox.set(env.round, box);
  }

  /**
   * Verifies an envelope's signature, takes the session key from a round-0 broadcast (and sends
   * the messages that waited for it), and decrypts a point-to-point payload. A point-to-point
   * envelope that arrives before its sender's session key (its round-0 broadcast was delayed or
   * dropped) is held back and undefined returned.
   */
  private open(env: Envelope, senderKey: KeyObject): Uint8Array | undefined {
    const keys = this.sessionKeys!;
    const expected = { sessionId: this.start.session_id, round: env.round };
    const { payload, ephemeralPublicKey } = verifyEnvelope(env, expected, this.deps.keys.nodeId, senderKey);
    if (env.to !== '') {
      if (keys.has(env.from)) return decryptEnvelope(env, keys.pairSecret(env.from));
      if (this.early.some((e) => e.from === env.from && e.round === env.round))
        throw new SessionFailure('REPLAY', `duplicate round ${env.round} message from ${env.from}`);
      this.early.push(env);
      return undefined;
    }
    if (env.round !== 0) {
      if (ephemeralPublicKey.length)
        throw new EnvelopeError('MALFORMED', `${env.from} sent a session key after round 0`);
      return payload;
    }
    keys.acceptPeer(env.from, ephemeralPublicKey);
    const waiting = this.deferred.filter((m) => m.to === env.from);
    this.deferred = this.deferred.filter((m) => m.to !== env.from);
    this.sealAndSend(0, waiting);
    return payload;
  }

  /** Moves through every round whose messages are all in. */
  private async advance(): Promise<void> {
    const rounds = this.party.rounds;
    while (this.phase === 'running') {
      const spec = rounds[this.round]!;
      const expected = (this.start.parties.length - 1) * ((spec.broadcast ? 1 : 0) + (spec.p2p ? 1 : 0));
      const box = this.inbox.get(this.round);
      if (!box || box.size < expected) return;
      const msgs = [...box.values()];
      this.inbox.delete(this.round);
      if (this.round + 1 < rounds.length) {
        this.round += 1;
        this.emit(this.round, this.party.round(this.round, msgs));
      } else {
        await this.finish(msgs);
      }
    }
  }

  private emit(round: number, out: OutboundMessage[]): void {
    const { nodeId } = this.deps.keys;
    for (const msg of out) {
      if (msg.to !== undefined && (msg.to === nodeId || !this.peerKeys.has(msg.to))) {
        throw new SessionFailure('INTERNAL', `protocol addressed a message to ${msg.to}`);
      }
    }
    // Broadcasts first: round 0's carries the session key its recipients need.
    const ready = out.filter((m) => m.to === undefined || this.sessionKeys!.has(m.to));
    this.deferred.push(...out.filter((m) => !ready.includes(m)));
    this.sealAndSend(
      round,
      ready.sort((a, b) => Number(a.to !== undefined) - Number(b.to !== undefined)),
    );
    this.armTimer();
  }

  private sealAndSend(round: number, out: OutboundMessage[]): void {
    const keys = this.sessionKeys!;
    for (const msg of out) {
      const header = { sessionId: this.start.session_id, round, from: this.deps.keys.nodeId, to: msg.to ?? '' };
      const options = msg.to
        ? { pairSecret: keys.pairSecret(msg.to) }
        : round === 0
          ? { ephemeralPublicKey: keys.publicKey }
          : {};
      const envelope = sealEnvelope(header, msg.payload, this.deps.keys, options);
      // Point-to-point payloads carry secret shares; only the ciphertext outlives this call.
      if (msg.to !== undefined) msg.payload.fill(0);
      this.deps.send({ frame: 'envelope', envelope });
    }
  }

  private async finish(msgs: InboundMessage[]): Promise<void> {
    clearTimeout(this.timer);
    if (this.start.kind === 'KEYGEN' || this.start.kind === 'REFRESH') {
      // A DKG checks the shares it received here; an abort needs the session keys for its
      // evidence (fail erases them right after), so they are erased only once finish succeeded.
      const out = (this.party as MpcParty<KeygenOutput>).finish(msgs);
      this.eraseSessionKeys();
      const old = this.refreshing;
      if (old && !sameBytes(old.publicKey, out.publicKey)) {
        throw new SessionFailure('INTERNAL', 'refresh changed the public key');
      }
      this.pendingShare = {
        keyId: this.start.key_id,
        algo: this.start.algo,
        version: old ? old.version + 1 : 1,
        threshold: this.start.threshold,
        holders: [...this.start.holders],
        publicKey: out.publicKey,
        publicInfo: out.publicInfo,
        secretShare: out.secretShare,
        signPolicy: old ? old.signPolicy : this.signPolicy,
      };
      this.phase = 'awaiting-commit';
      this.armTimer();
      // A refresh reports the version it staged, so the gateway can see every holder agrees.
      const version = new Uint8Array(4);
      if (old) new DataView(version.buffer).setUint32(0, this.pendingShare.version);
      this.deps.send({
        frame: 'result',
        result: { public_key: out.publicKey, public_info: out.publicInfo, output: old ? version : new Uint8Array() },
      });
    } else {
      const output = (this.party as MpcParty<Uint8Array>).finish(msgs);
      this.eraseSessionKeys();
      this.phase = 'done';
      this.deps.send({
        frame: 'result',
        result: { public_key: new Uint8Array(), public_info: new Uint8Array(), output },
      });
    }
  }

  private async commit(): Promise<void> {
    if (this.phase !== 'awaiting-commit' || !this.pendingShare)
      throw new SessionFailure('REPLAY', 'commit out of order');
    clearTimeout(this.timer);
    try {
      // A refresh only stages its share: the gateway activates it once every holder staged one.
      if (this.start.kind === 'REFRESH') await this.deps.shares.stage(this.pendingShare);
      else await this.deps.shares.put(this.pendingShare);
    } catch (e) {
      throw new SessionFailure('STORAGE', `could not store the share: ${(e as Error).message}`);
    }
    if (this.start.kind === 'REFRESH') {
      this.deps.log.info({ key: this.start.key_id, version: this.pendingShare.version }, 'refreshed share staged');
    }
    this.phase = 'done';
    this.cleanup();
    this.deps.send({ frame: 'committed', committed: {} });
  }

  private armTimer(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.done) return;
      const missing = this.missingParties();
      const what =
        this.phase === 'awaiting-commit' ? 'the commit' : `round ${this.round} messages from ${missing.join(', ')}`;
      this.fail(new SessionFailure('TIMEOUT', `timed out waiting for ${what}`, missing.length === 1 ? missing[0] : ''));
    }, this.timeoutMs);
    this.timer.unref();
  }

  private missingParties(): string[] {
    if (this.phase !== 'running') return [];
    const box = this.inbox.get(this.round) ?? new Map();
    const spec = this.party.rounds[this.round]!;
    return this.start.parties.filter(
      (p) =>
        p !== this.deps.keys.nodeId && ((spec.broadcast && !box.has(`${p}|b`)) || (spec.p2p && !box.has(`${p}|p`))),
    );
  }

  private guard(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(async () => {
      if (this.done) return;
      try {
        await step();
      } catch (e) {
        this.fail(e);
      }
    });
    return this.queue;
  }

  private fail(e: unknown): void {
    if (this.done) return;
    const accusation = e instanceof ProtocolAbort && e.culprit ? this.evidenceAgainst(e.culprit) : undefined;
    this.phase = 'failed';
    this.cleanup();
    const failure =
      e instanceof SessionFailure
        ? e
        : e instanceof ProtocolAbort
          ? new SessionFailure('PROTOCOL_ABORT', e.message, e.culprit ?? '')
          : new SessionFailure('INTERNAL', 'internal error');
    if (!accusation?.proven) this.countUnattributed();
    if (failure.code === 'INTERNAL')
      this.deps.log.error({ error: internalErrorSite(e) }, 'session failed with an internal error');
    else
      this.deps.log.warn({ code: failure.code, culprit: failure.culprit, reason: failure.message }, 'session aborted');
    this.deps.send({
      frame: 'error',
      error: {
        code: failure.code,
        message: failure.message,
        culprit: failure.culprit,
        evidence: accusation ? Buffer.from(JSON.stringify(accusation.evidence)) : new Uint8Array(),
      },
    });
  }

  private eraseSessionKeys(): void {
    this.sessionKeys?.erase();
    this.sessionKeys = undefined;
    for (const msg of this.deferred) msg.payload.fill(0);
    this.deferred = [];
    this.early = [];
  }

  private cleanup(): void {
    clearTimeout(this.timer);
    this.eraseSessionKeys();
    this.inbox.clear();
    this.received = [];
    this.pendingShare?.secretShare.fill(0);
    this.pendingShare = undefined;
    this.refreshing?.secretShare.fill(0);
    this.refreshing = undefined;
  }
}

/**
 * Where an unexpected error came from, without its message: a library's message may quote the
 * value it rejected, and inside a session that value can be secret (a share, a nonce).
 */
export function internalErrorSite(e: unknown): string {
  if (!(e instanceof Error)) return typeof e;
  const frames = (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at '));
  return [e.name, ...frames.slice(0, 5).map((l) => l.trim())].join(' | ');
}

/** A JSON field of the start frame, validated; BAD_START when it is not what the schema says. */
function parseJsonField<T>(
  bytes: Uint8Array,
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
  what: string,
): T | undefined {
  if (bytes.length === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new SessionFailure('BAD_START', `${what} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new SessionFailure('BAD_START', `${what} is malformed`);
  return parsed.data;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A destroyed key is refused by name, not reported as an internal error. */
function refuseDestroyed(e: unknown): never {
  if (e instanceof ShareStoreError && e.code === 'DESTROYED') throw new SessionFailure('UNKNOWN_KEY', e.message);
  throw e;
}
