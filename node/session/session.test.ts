import { test } from 'vitest';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { envelopeKeysFrom } from '../../common/envelope/envelope.ts';
import { fixtureKey } from '../../common/protocols/gg18/fixtures.ts';
import { builtinSchemes } from '../../common/protocols/registry.ts';
import type { NodeFrame } from '../../common/rpc/tss-service.ts';
import type { ShareRecord } from '../storage/share-store.ts';
import { NonceReplayCache } from '../authz/client-authorization.ts';
import { MpcSession, internalErrorSite } from './session.ts';

test('an internal error is logged by its type and stack frames, never its message', () => {
  const secret = 'deadbeef'.repeat(8);
  const site = internalErrorSite(new RangeError(`expected 1 <= sk < n, got ${secret}`));
  assert.match(site, /^RangeError \| at /);
  assert.ok(!site.includes(secret));
  assert.equal(internalErrorSite('a string'), 'string');
});

/**
 * Three node sessions wired through an in-process relay (the stream frames a gateway would carry):
 * GG18 signing, whose first round has point-to-point messages, runs to a valid signature, and no
 * round-0 point-to-point message leaves a node before the recipient's signed session key arrived.
 */
test(
  'GG18 signing through node sessions: round-0 point-to-point messages wait for the session key',
  { timeout: 300_000 },
  async () => {
    const key = fixtureKey('2of3');
    const signers = key.holders.slice(0, 2);
    const schemes = builtinSchemes();
    const certKeys = new Map(signers.map((id) => [id, generateKeyPairSync('ec', { namedCurve: 'P-256' })]));
    const sessions = new Map<string, MpcSession>();
    const results = new Map<string, Uint8Array>();
    const errors: string[] = [];
    const keyFrom = new Map<string, Set<string>>(signers.map((id) => [id, new Set<string>()])); // who has whose key
    const p2pBeforeKey: string[] = [];
    const deliveries: Promise<void>[] = [];
    const message = Uint8Array.from(randomBytes(32));
    const sessionId = `s-${randomBytes(8).toString('hex')}`;
    const keyId = `key_${randomBytes(16).toString('hex')}`;

    for (const id of signers) {
      const send = (frame: NodeFrame) => {
        if (frame.frame === 'error') errors.push(`${id}: ${frame.error.message}`);
        if (frame.frame === 'result') results.set(id, frame.result.output);
        if (frame.frame !== 'envelope') return;
        const env = frame.envelope;
        for (const to of env.to ? [env.to] : signers.filter((p) => p !== id)) {
          if (env.to && env.round === 0 && !keyFrom.get(id)!.has(to)) p2pBeforeKey.push(`${id}->${to}`);
          if (!env.to && env.round === 0) keyFrom.get(to)!.add(id);
          deliveries.push(sessions.get(to)!.handle({ frame: 'envelope', envelope: env }));
        }
      };
      const record: ShareRecord = {
        keyId,
        algo: 'GG18',
        version: 1,
        threshold: key.threshold,
        holders: [...key.holders],
        publicKey: key.publicKey,
        publicInfo: key.publicInfo,
        secretShare: Uint8Array.from(key.shares.get(id)!),
      };
      sessions.set(
        id,
        new MpcSession({
          keys: envelopeKeysFrom(id, certKeys.get(id)!.privateKey),
          // Stands in for the CA check (tested in server.test.ts): the certificate is the node id.
          verifyPeer: (peer, cert) => {
            assert.equal(Buffer.from(cert).toString(), peer);
            return certKeys.get(peer)!.publicKey;
          },
          schemes,
          shares: {
            get: async () => record,
            has: async () => true,
            put: async () => {},
            getVersion: async () => record,
            stage: async () => {},
          },
          send,
          log: pino({ level: 'silent' }),
          claimSession: async () => {},
          clientNonces: new NonceReplayCache(),
          startedAtMs: 0,
          aborts: { assertOpen: async () => undefined, record: async () => 0 },
        }),
      );
    }
    await Promise.all(
      signers.map((id) =>
        sessions.get(id)!.begin({
          session_id: sessionId,
          kind: 'SIGN',
          algo: 'GG18',
          key_id: keyId,
          parties: signers,
          holders: [...key.holders],
          threshold: key.threshold,
          message: Buffer.from(message),
          round_timeout_ms: 120_000,
          peer_certificates: Object.fromEntries(signers.filter((p) => p !== id).map((p) => [p, Buffer.from(p)])),
          sign_policy: Buffer.alloc(0),
          authorization: Buffer.alloc(0),
          deadline_ms: Date.now() + 300_000,
        }),
      ),
    );
    const deadline = Date.now() + 280_000;
    while (results.size < signers.length && errors.length === 0 && Date.now() < deadline) {
      await Promise.all(deliveries.splice(0));
      if (deliveries.length === 0) await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(p2pBeforeKey, [], 'a round-0 point-to-point message left before the recipient’s key arrived');
    const scheme = schemes.get('GG18')!;
    const signature = scheme.combine(results, key.publicInfo, key.publicKey, message, {
      holders: key.holders,
      threshold: key.threshold,
    });
    assert.equal(scheme.verify(signature, message, key.publicKey), true);
  },
);
