import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, test } from 'vitest';
import { decide, effectiveStatus, requirementsMet, type ApprovalState } from './state.ts';

const NOW = Date.parse('2026-12-01T00:00:00Z');
const base = (over: Partial<ApprovalState> = {}): ApprovalState => ({
  status: 'PENDING',
  requester: 'alice',
  requirements: [{ source: 'test', required: 2, approvers: ['alice', 'bob', 'carol', 'dave'] }],
  decisions: [],
  expiresAtMs: NOW + 60_000,
  ...over,
});

describe('approval state', () => {
  test('the requester can never decide, even when listed as an approver', () => {
    const out = decide(base(), 'alice', 'APPROVE', null, NOW);
    assert.equal(out.ok, false);
    assert.equal(!out.ok && out.status, 403);
  });

  test('M of N: approved at the Mth distinct eligible approval; outsiders are refused', () => {
    let s = base();
    const first = decide(s, 'bob', 'APPROVE', null, NOW);
    assert.ok(first.ok);
    s = first.state;
    assert.equal(s.status, 'PENDING');
    const again = decide(s, 'bob', 'APPROVE', null, NOW);
    assert.equal(!again.ok && again.status, 409);
    const outsider = decide(s, 'mallory', 'APPROVE', null, NOW);
    assert.equal(!outsider.ok && outsider.status, 403);
    const second = decide(s, 'carol', 'APPROVE', 'fine', NOW);
    assert.ok(second.ok);
    assert.equal(second.state.status, 'APPROVED');
    const late = decide(second.state, 'dave', 'APPROVE', null, NOW);
    assert.equal(!late.ok && late.status, 409);
  });

  test('one eligible rejection rejects; an expired request refuses decisions and becomes EXPIRED', () => {
    const r = decide(base(), 'dave', 'REJECT', 'no', NOW);
    assert.ok(r.ok);
    assert.equal(r.state.status, 'REJECTED');
    const expired = decide(base(), 'bob', 'APPROVE', null, NOW + 60_001);
    assert.equal(expired.ok, false);
    assert.equal(!expired.ok && expired.state?.status, 'EXPIRED');
    assert.equal(effectiveStatus(base(), NOW + 60_001), 'EXPIRED');
  });

  test('every requirement must be met (two rules with their own approvers)', () => {
    const s = base({
      requirements: [
        { source: 'r1', required: 1, approvers: ['bob'] },
        { source: 'r2', required: 1, approvers: null },
      ],
    });
    const one = decide(s, 'carol', 'APPROVE', null, NOW);
    assert.ok(one.ok);
    assert.equal(one.state.status, 'PENDING', 'carol meets r2 only');
    const two = decide(one.state, 'bob', 'APPROVE', null, NOW);
    assert.ok(two.ok);
    assert.equal(two.state.status, 'APPROVED');
  });

  test('any sequence of decisions keeps the invariants (property)', () => {
    const actor = fc.constantFrom('alice', 'bob', 'carol', 'dave', 'erin', 'mallory');
    const step = fc.record({
      actor,
      decision: fc.constantFrom('APPROVE' as const, 'REJECT' as const),
      dt: fc.integer({ min: 0, max: 40_000 }),
    });
    const requirement = fc.record({
      source: fc.constant('r'),
      required: fc.integer({ min: 1, max: 3 }),
      approvers: fc.option(fc.uniqueArray(actor, { minLength: 3, maxLength: 6 }), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.array(requirement, { minLength: 1, maxLength: 3 }),
        fc.array(step, { maxLength: 12 }),
        (reqs, steps) => {
          let s = base({ requirements: reqs });
          let t = NOW;
          for (const st of steps) {
            t += st.dt;
            const before = s;
            const out = decide(s, st.actor, st.decision, null, t);
            if (!out.ok) {
              // Refused: nothing recorded; only an expiry may change the status.
              if (out.state) {
                assert.equal(out.state.status, 'EXPIRED');
                assert.deepEqual(out.state.decisions, before.decisions);
                s = out.state;
              }
              assert.ok(out.status === 403 || out.status === 409);
              continue;
            }
            s = out.state;
            assert.equal(s.decisions.length, before.decisions.length + 1, 'exactly one decision added');
            assert.equal(before.status, 'PENDING', 'decisions only on pending requests');
          }
          // Invariants of the end state.
          assert.ok(!s.decisions.some((d) => d.access_key === 'alice'), 'the requester never decided');
          assert.equal(new Set(s.decisions.map((d) => d.access_key)).size, s.decisions.length, 'one decision each');
          const rejected = s.decisions.some((d) => d.decision === 'REJECT');
          if (s.status === 'REJECTED') assert.ok(rejected);
          if (s.status === 'APPROVED') {
            assert.ok(!rejected);
            assert.ok(requirementsMet(s.requirements, s.decisions, s.requester));
          }
          if (s.status === 'PENDING')
            assert.ok(!requirementsMet(s.requirements, s.decisions, s.requester) && !rejected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
