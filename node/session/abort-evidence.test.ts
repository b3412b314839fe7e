/**
 * Identifiable abort, end to end inside one process: three real MpcSession runtimes with real
 * certificate keys and envelopes, wired by a relay. A cheating dealer is named with evidence the
 * gateway's judge accepts; a node that accuses an honest peer is refuted and is itself blamed.
 */
import { describe, test, beforeAll } from 'vitest';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  buildEvidence,
  judgeAccusation,
  mayRevealPairSecret,
  type AbortEvidence,
} from '../../common/abort/evidence.ts';
import { certificatePublicKey, envelopeKeysFrom, type EnvelopeKeys } from '../../common/envelope/envelope.ts';
import { ensureDevPki, loadTlsMaterial } from '../../common/pki/dev-pki.ts';
import { DEV_SCOPE } from '../../common/pki/identity.ts';
import { frostEd25519Scheme } from '../../common/protocols/frost/index.ts';
import { ProtocolAbort, type SessionContext, type ThresholdScheme } from '../../common/protocols/types.ts';
import type { Envelope, NodeFrame, SessionStart } from '../../common/rpc/tss-service.ts';
import { NonceReplayCache } from '../authz/client-authorization.ts';
import { makePeerVerifier } from '../server.ts';
import type { ShareRecord } from '../storage/share-store.ts';
import { MpcSession } from './session.ts';
import { oldEciesAttempts } from '../../test/support/old-ecies.ts';

const holders = ['tss1', 'tss2', 'tss3'];
let home: string;
const keys = new Map<string, EnvelopeKeys>();
const certs = new Map<string, Buffer>();

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'custos-abort-'));
  await ensureDevPki(home, holders);
  for (const id of holders) {
    const tls = loadTlsMaterial(home, id);
    keys.set(id, envelopeKeysFrom(id, createPrivateKey(tls.key)));
    certs.set(id, tls.cert);
  }
});

/** tss3 deals tss1 a share that does not match its commitments; its envelopes are still genuinely signed. */
const cheatingScheme: ThresholdScheme = {
  ...frostEd25519Scheme,
  keygen(ctx) {
    const party = frostEd25519Scheme.keygen(ctx);
    return {
      ...party,
      round(r, inbound) {
        const out = party.round(r, inbound);
        return out.map((m) => (r === 1 && m.to === 'tss1' ? { ...m, payload: tamperedShare(m.payload) } : m));
      },
    };
  },
};

function tamperedShare(payload: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(payload);
  copy[2] = copy[2]! ^ 1; // lowest byte of the little-endian scalar: still a valid scalar
  return copy;
}

interface Outcome {
  errors: Map<string, NodeFrame & { frame: 'error' }>;
  received: Map<string, Envelope[]>;
  start: SessionStart;
}

/** Runs one keygen over an in-process relay; the relay keeps copies of what each node received. */
async function runKeygen(schemeOf: (id: string) => ThresholdScheme): Promise<Outcome> {
  const start: SessionStart = {
    session_id: randomBytes(18).toString('base64url'),
    kind: 'KEYGEN',
    algo: 'EDDSA',
    key_id: `key_${randomBytes(16).toString('hex')}`,
    parties: holders,
    holders,
    threshold: 2,
    message: Buffer.alloc(0),
    round_timeout_ms: 5000,
    peer_certificates: {},
    sign_policy: Buffer.alloc(0),
    authorization: Buffer.alloc(0),
    deadline_ms: Date.now() + 60_000,
  };
  const sessions = new Map<string, MpcSession>();
  const errors = new Map<string, NodeFrame & { frame: 'error' }>();
  const received = new Map<string, Envelope[]>(holders.map((h) => [h, []]));
  let results = 0;
  let settle!: () => void;
  const done = new Promise<void>((r) => (settle = r));
  for (const id of holders) {
    const store = new Map<string, ShareRecord>();
    sessions.set(
      id,
      new MpcSession({
        keys: keys.get(id)!,
        verifyPeer: makePeerVerifier(loadTlsMaterial(home, id).ca, DEV_SCOPE),
        schemes: new Map([['EDDSA', schemeOf(id)]]),
        shares: {
          get: async (k) => store.get(k),
          has: async (k) => store.has(k),
          put: async (r) => void store.set(r.keyId, r),
          getVersion: async (k, v) => (store.get(k)?.version === v ? store.get(k) : undefined),
          stage: async () => assert.fail('no refresh in these tests'),
        },
        send(frame) {
          if (frame.frame === 'envelope') {
            const env = frame.envelope;
            const targets = env.to === '' ? holders.filter((h) => h !== id) : [env.to];
            for (const to of targets) {
              received.get(to)!.push(env);
              queueMicrotask(() => void sessions.get(to)!.handle({ frame: 'envelope', envelope: env }));
            }
          } else if (frame.frame === 'error') {
            errors.set(id, frame);
            for (const [other, s] of sessions) if (other !== id) s.cancel();
            settle();
          } else if (frame.frame === 'result' && ++results === holders.length) settle();
        },
        log: pino({ level: 'silent' }),
        clientNonces: new NonceReplayCache(),
        startedAtMs: 0,
        aborts: { assertOpen: async () => undefined, record: async () => 0 },
        claimSession: async () => undefined,
      }),
    );
  }
  for (const id of holders) {
    const peers: Record<string, Buffer> = {};
    for (const p of holders) if (p !== id) peers[p] = certs.get(p)!;
    void sessions.get(id)!.begin({ ...start, peer_certificates: peers });
  }
  await done;
  return { errors, received, start };
}

function judge(start: SessionStart, evidence: unknown) {
  const ctx: SessionContext = {
    sessionId: start.session_id,
    keyId: start.key_id,
    self: '',
    parties: holders,
    holders,
    threshold: 2,
  };
  return judgeAccusation({
    evidence,
    sessionId: start.session_id,
    kind: 'KEYGEN',
    ctx,
    scheme: frostEd25519Scheme,
    certificateKey: (id) => (certs.has(id) ? certificatePublicKey(certs.get(id)!) : undefined),
  });
}

/** tss1 runs an honest DKG but, at the end, accuses honest tss2 (a lying node's own code). */
const lyingScheme: ThresholdScheme = {
  ...frostEd25519Scheme,
  keygen(ctx) {
    const party = frostEd25519Scheme.keygen(ctx);
    return {
      ...party,
      finish() {
        throw new ProtocolAbort('tss2', 'secret share does not match its sender’s commitments');
      },
    };
  },
};

function reportOf(outcome: Outcome, id: string): AbortEvidence {
  const report = outcome.errors.get(id);
  assert.ok(report, `${id} reports the abort`);
  return JSON.parse(Buffer.from(report.error.evidence).toString('utf8')) as AbortEvidence;
}

describe('identifiable abort with evidence', { timeout: 60_000 }, () => {
  test('a real cheater is named, and the evidence convinces a judge that trusts no node', async () => {
    const outcome = await runKeygen((id) => (id === 'tss3' ? cheatingScheme : frostEd25519Scheme));
    const { errors, start } = outcome;
    assert.equal(errors.get('tss1')?.error.culprit, 'tss3');
    const evidence = reportOf(outcome, 'tss1');
    assert.match(evidence.pair_secret, /^[0-9a-f]{64}$/, 'the tss1–tss3 session secret is revealed');
    assert.ok(
      evidence.envelopes.every((e) => e.from === 'tss3' || e.to === ''),
      'no envelope from anyone else',
    );
    const verdict = judge(start, evidence);
    assert.equal(verdict.outcome, 'guilty');
    assert.equal((verdict as { culprit: string }).culprit, 'tss3');
    assert.match(verdict.reason, /does not match its sender’s commitments/);

    // The certificate keys, all of them, still open nothing: only the revealed session secret does.
    const certPrivate = holders.map((id) => keys.get(id)!.signingKey);
    const certPublic = certPrivate.map((k) => createPublicKey(k));
    const shareEnvelope = evidence.envelopes.find((e) => e.to === 'tss1')!;
    const asEnvelope: Envelope = {
      ...shareEnvelope,
      body: Buffer.from(shareEnvelope.body, 'hex'),
      ephemeral_public_key: Buffer.from(shareEnvelope.ephemeral_public_key, 'hex'),
      iv: Buffer.from(shareEnvelope.iv, 'hex'),
      signature: Buffer.from(shareEnvelope.signature, 'hex'),
    };
    assert.equal(oldEciesAttempts(asEnvelope, certPrivate, certPublic), 0);

    // Tampering with the evidence turns it against the accuser, never the accused.
    const wrongSecret = { ...evidence, pair_secret: randomBytes(32).toString('hex') };
    assert.deepEqual(pick(judge(start, wrongSecret)), { outcome: 'refuted', node: 'tss1' });
    const flipped = Buffer.from(evidence.pair_secret, 'hex');
    flipped[0] = flipped[0]! ^ 1;
    assert.deepEqual(pick(judge(start, { ...evidence, pair_secret: flipped.toString('hex') })), {
      outcome: 'refuted',
      node: 'tss1',
    });
    assert.deepEqual(pick(judge(start, { ...evidence, pair_secret: '' })), { outcome: 'refuted', node: 'tss1' });
    const badBody = structuredClone(evidence);
    const b = badBody.envelopes.find((e) => e.to === 'tss1')!;
    b.body = (b.body[0] === '0' ? '1' : '0') + b.body.slice(1);
    assert.deepEqual(pick(judge(start, badBody)), { outcome: 'refuted', node: 'tss1' });
    // The accuser's secret with the culprit from another session opens nothing here.
    const other = await runKeygen((id) => (id === 'tss3' ? cheatingScheme : frostEd25519Scheme));
    const stale = { ...evidence, pair_secret: reportOf(other, 'tss1').pair_secret };
    assert.deepEqual(pick(judge(start, stale)), { outcome: 'refuted', node: 'tss1' });
  });

  test('a node that falsely accuses an honest peer is refuted and blamed itself', async () => {
    const outcome = await runKeygen((id) => (id === 'tss1' ? lyingScheme : frostEd25519Scheme));
    assert.equal(outcome.errors.get('tss1')?.error.culprit, 'tss2');
    // The liar's evidence carries the genuine secret: tss2's real share passes every check.
    const lie = reportOf(outcome, 'tss1');
    assert.match(lie.pair_secret, /^[0-9a-f]{64}$/);
    const verdict = judge(outcome.start, lie);
    assert.deepEqual(pick(verdict), { outcome: 'refuted', node: 'tss1' });
    assert.match(verdict.reason, /pass every DKG check/);
    // Leaving out the share the accusation would rest on does not help the liar.
    const partial = { ...lie, envelopes: lie.envelopes.filter((e) => e.to === ''), pair_secret: '' };
    assert.deepEqual(pick(judge(outcome.start, partial)), { outcome: 'refuted', node: 'tss1' });
    // Nor does withholding or inventing the secret.
    assert.deepEqual(pick(judge(outcome.start, { ...lie, pair_secret: '' })), { outcome: 'refuted', node: 'tss1' });
    const invented = { ...lie, pair_secret: randomBytes(32).toString('hex') };
    assert.deepEqual(pick(judge(outcome.start, invented)), { outcome: 'refuted', node: 'tss1' });
    // No evidence at all: not believed, counted as unattributed.
    assert.equal(judge(outcome.start, undefined).outcome, 'unattributed');
  });

  test('evidence is built from received envelopes only, and reveals a secret only for a judged keygen', () => {
    const received: Envelope[] = [
      { ...blankEnvelope(), from: 'tss2', to: '' },
      { ...blankEnvelope(), from: 'tss2', to: 'tss1', round: 1 },
      { ...blankEnvelope(), from: 'tss3', to: 'tss1', round: 1 },
    ];
    const secret = randomBytes(32);
    const built = buildEvidence({ accuser: 'tss1', culprit: 'tss2', received, pairSecret: secret });
    assert.equal(built.pair_secret, secret.toString('hex'));
    assert.deepEqual(
      built.envelopes.map((e) => e.from),
      ['tss2', 'tss2'],
      'tss3’s point-to-point envelope stays out',
    );
    // Nothing to open from the culprit: no secret leaves the node.
    const noP2p = buildEvidence({
      accuser: 'tss1',
      culprit: 'tss2',
      received: received.slice(0, 1),
      pairSecret: secret,
    });
    assert.equal(noP2p.pair_secret, '');
    assert.equal(mayRevealPairSecret('KEYGEN', frostEd25519Scheme), true);
    assert.equal(mayRevealPairSecret('SIGN', frostEd25519Scheme), false);
    assert.equal(mayRevealPairSecret('KEYGEN', { ...frostEd25519Scheme, judge: undefined }), false);
  });

  test('a culprit named where the algorithm cannot be judged from public data stays unattributed', async () => {
    const outcome = await runKeygen((id) => (id === 'tss3' ? cheatingScheme : frostEd25519Scheme));
    const evidence = reportOf(outcome, 'tss1');
    const { start } = outcome;
    const noJudge: ThresholdScheme = { ...frostEd25519Scheme, judge: undefined };
    const ctx: SessionContext = {
      sessionId: start.session_id,
      keyId: start.key_id,
      self: '',
      parties: holders,
      holders,
      threshold: 2,
    };
    const verdict = judgeAccusation({
      evidence,
      sessionId: start.session_id,
      kind: 'KEYGEN',
      ctx,
      scheme: noJudge,
      certificateKey: (id) => certificatePublicKey(certs.get(id)!),
    });
    assert.equal(verdict.outcome, 'unattributed');
    // A signing session's point-to-point messages are never opened, whatever the accuser sends.
    const asSign = judgeAccusation({
      evidence,
      sessionId: start.session_id,
      kind: 'SIGN',
      ctx,
      scheme: frostEd25519Scheme,
      certificateKey: (id) => certificatePublicKey(certs.get(id)!),
    });
    assert.equal(asSign.outcome, 'unattributed');
  });
});

function blankEnvelope(): Envelope {
  return {
    session_id: 's',
    round: 0,
    from: '',
    to: '',
    body: new Uint8Array(1),
    ephemeral_public_key: new Uint8Array(),
    iv: new Uint8Array(),
    signature: new Uint8Array(),
  };
}

function pick(j: ReturnType<typeof judge>) {
  return j.outcome === 'guilty'
    ? { outcome: j.outcome, node: j.culprit }
    : j.outcome === 'refuted'
      ? { outcome: j.outcome, node: j.falseAccuser }
      : { outcome: j.outcome };
}
