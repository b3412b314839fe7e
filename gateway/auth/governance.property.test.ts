/**
 * Property-based tests (fast-check) over scopes, CIDR allow-lists and the access-key API: the pure
 * checks agree with a reference model, and no input makes the API answer 5xx or half-write a change.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { CidrSchema, ScopeSchema } from '../../common/api/schemas.ts';
import { signedRequest, startTestGateway, type TestGateway } from '../testing/http-harness.ts';
import { cidrMatcher } from './cidr.ts';
import { inScope, mayCreateLabel, type Scope } from './scopes.ts';

const hex32 = fc.stringMatching(/^[0-9a-f]{32}$/).map((h) => `key_${h}`);
const label = fc.stringMatching(/^[a-z][a-z0-9/._-]{0,12}$/);
const scope: fc.Arbitrary<Scope> = fc.oneof(
  hex32.map((key_id) => ({ key_id })),
  label.map((l) => ({ label: l })),
  label.map((label_prefix) => ({ label_prefix })),
);

/** IPv4 as a 32-bit number, for the reference model. */
const ipv4ToInt = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
const inV4Block = (ip: string, base: string, bits: number) =>
  bits === 0 || Math.floor(ipv4ToInt(ip) / 2 ** (32 - bits)) === Math.floor(ipv4ToInt(base) / 2 ** (32 - bits));

describe('scopes and CIDRs against reference models', () => {
  test('inScope: empty reaches everything; otherwise exactly the keys some scope names', () => {
    fc.assert(
      fc.property(fc.array(scope, { maxLength: 6 }), hex32, fc.option(label, { nil: null }), (scopes, keyId, l) => {
        const key = { key_id: keyId, label: l };
        const expected =
          scopes.length === 0 ||
          scopes.some((s) =>
            'key_id' in s
              ? s.key_id === keyId
              : 'label' in s
                ? l === s.label
                : l !== null && l.slice(0, s.label_prefix.length) === s.label_prefix,
          );
        assert.equal(inScope(scopes, key), expected);
        assert.ok(scopes.every((s) => ScopeSchema.safeParse(s).success));
      }),
      { numRuns: 500 },
    );
  });

  test('mayCreateLabel never lets a key-id-only scope create keys, nor an unlabelled key under any scope', () => {
    fc.assert(
      fc.property(
        fc.array(scope, { minLength: 1, maxLength: 6 }),
        fc.option(label, { nil: undefined }),
        (scopes, l) => {
          const allowed = mayCreateLabel(scopes, l);
          if (l === undefined || scopes.every((s) => 'key_id' in s)) assert.equal(allowed, false);
          if (allowed) assert.ok(inScope(scopes, { key_id: 'key_new', label: l! }));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('an IPv4 CIDR matches exactly the addresses whose top bits equal the block, also as ::ffff:a.b.c.d', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4(), (base, bits, ip) => {
        const match = cidrMatcher([`${base}/${bits}`]);
        assert.equal(match(ip), inV4Block(ip, base, bits));
        assert.equal(match(`::ffff:${ip}`), inV4Block(ip, base, bits));
      }),
      { numRuns: 1000 },
    );
  });

  test('IPv6 blocks: an address inside its own /n block always matches; an IPv4 address matches as its ::ffff: form', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), fc.ipV4(), (addr, bits, v4) => {
        const match = cidrMatcher([`${addr}/${bits}`]);
        assert.equal(match(addr), true);
        assert.equal(match(v4), match(`::ffff:${v4}`));
      }),
      { numRuns: 500 },
    );
  });

  test('any string: CidrSchema and the matcher agree, and the matcher never throws on an address', () => {
    const entry = fc.oneof(
      fc.string({ maxLength: 24 }),
      fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.string({ maxLength: 4 })).map(([a, b]) => `${a}/${b}`),
    );
    fc.assert(
      fc.property(entry, fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), (cidr, ip) => {
        const valid = CidrSchema.safeParse(cidr).success;
        let built: ((ip: string) => boolean) | undefined;
        try {
          built = cidrMatcher([cidr]);
        } catch {
          built = undefined;
        }
        assert.equal(built !== undefined, valid, cidr);
        if (built) assert.equal(typeof built(ip), 'boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the access-key API under arbitrary input', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ rate_limit: { burst: 1_000_000, per_second: 1_000_000 } });
  });
  afterAll(async () => gw.close());

  const snapshot = async () =>
    JSON.stringify(
      (await gw.db.selectFrom('access_keys').selectAll().orderBy('access_key').execute()).map((r) => ({
        ...r,
        secret_key_enc: undefined,
        previous_secret_enc: undefined,
      })),
    );

  const jsonish = fc.oneof(
    fc.record(
      {
        name: fc.oneof(fc.string({ maxLength: 140 }), fc.integer()),
        roles: fc.oneof(
          fc.array(fc.constantFrom('signer', 'auditor', 'admin', 'root', ''), { maxLength: 7 }),
          fc.string(),
        ),
        scopes: fc.array(
          fc.oneof(scope, fc.dictionary(fc.constantFrom('key_id', 'label', 'label_prefix', 'x'), fc.jsonValue())),
          { maxLength: 4 },
        ),
        allowed_cidrs: fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), { maxLength: 4 }),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue(),
  );

  test('POST /api/v1/access-keys and PUT scopes/allowed-cidrs: never 5xx; a refused change writes nothing', async () => {
    const target = (await signedRequest(gw, 'POST', '/api/v1/access-keys', { body: { roles: ['signer'] } })).json()
      .access_key as string;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('create', 'scopes', 'allowed-cidrs'),
        jsonish,
        fc.boolean(),
        async (what, body, wrap) => {
          const before = await snapshot();
          const url = what === 'create' ? '/api/v1/access-keys' : `/api/v1/access-keys/${target}/${what}`;
          const payload = wrap && what !== 'create' ? { [what === 'scopes' ? 'scopes' : 'allowed_cidrs']: body } : body;
          const res = await signedRequest(gw, what === 'create' ? 'POST' : 'PUT', url, { body: payload });
          assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
          if (res.statusCode >= 400) {
            assert.equal(res.statusCode, 400, res.body);
            assert.equal(await snapshot(), before, 'a refused change wrote something');
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
