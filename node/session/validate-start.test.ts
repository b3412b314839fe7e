import assert from 'node:assert/strict';
import { test } from 'vitest';
import { builtinSchemes } from '../../common/protocols/registry.ts';
import type { SessionStart } from '../../common/rpc/tss-service.ts';
import { validateStart } from './session.ts';

const schemes = builtinSchemes();

const start = (over: Partial<SessionStart>): SessionStart => ({
  session_id: 'sess_0123456789',
  kind: 'SIGN',
  algo: 'EDDSA',
  key_id: `key_${'ab'.repeat(16)}`,
  parties: ['tss1', 'tss2'],
  holders: ['tss1', 'tss2', 'tss3'],
  threshold: 2,
  message: Buffer.alloc(0),
  round_timeout_ms: 15_000,
  peer_certificates: {},
  sign_policy: Buffer.alloc(0),
  authorization: Buffer.alloc(0),
  deadline_ms: Date.now() + 60_000,
  ...over,
});

test('a sign session over the empty message starts for EDDSA and BLS (RFC 8032 test 1 signs it)', () => {
  for (const algo of ['EDDSA', 'BLS']) {
    assert.doesNotThrow(() => validateStart(start({ algo }), 'tss1', schemes), algo);
  }
});

test('the other start checks still refuse: a non-participant, too few signers', () => {
  assert.throws(() => validateStart(start({}), 'tss3', schemes), /not a participant/);
  assert.throws(() => validateStart(start({ parties: ['tss1'] }), 'tss1', schemes), /fewer signers/);
});
