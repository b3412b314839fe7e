/**
 * Part of `make e2e-kind`: signs a digest with a ManagedKey through the gateway and verifies the
 * signature against the public key the operator mirrored into the resource's status.
 * Usage: CUSTOS_URL=... CUSTOS_ACCESS_KEY=... CUSTOS_SECRET_KEY=... tsx hack/kube/e2e-sign.ts <key_id> <public_key>
 */
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { AUTH_HEADERS, signRequest } from '../../common/auth/request-signing.ts';
import { SignResponseSchema } from '../../common/api/schemas.ts';

const [keyId, publicKey] = process.argv.slice(2);
const { CUSTOS_URL: base, CUSTOS_ACCESS_KEY: accessKey, CUSTOS_SECRET_KEY: secretKey } = process.env;
if (!keyId || !publicKey || !base || !accessKey || !secretKey)
  throw new Error('usage: see the header of hack/kube/e2e-sign.ts');

const digest = randomBytes(32);
const path = `/api/v1/keys/${keyId}/sign`;
const body = JSON.stringify({ data: `0x${digest.toString('hex')}`, data_type: 'HASH' });
const timestampMs = Date.now();
const nonce = randomBytes(16).toString('hex');
const res = await fetch(new URL(path, base), {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    [AUTH_HEADERS.accessKey]: accessKey,
    [AUTH_HEADERS.timestamp]: String(timestampMs),
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: signRequest(secretKey, { method: 'POST', pathWithQuery: path, timestampMs, nonce, body }),
  },
  body,
});
if (!res.ok) throw new Error(`sign failed: ${res.status} ${await res.text()}`);
const sig = SignResponseSchema.parse(await res.json());
const rs = hexToBytes(sig.signature.slice(2, 2 + 128));
const ok = secp256k1.verify(rs, digest, hexToBytes(publicKey.replace(/^0x/, '')), { prehash: false });
if (!ok) throw new Error(`signature ${sig.signature} does not verify under ${publicKey}`);
console.log(`signature by ${sig.signer_nodes.join(', ')} verifies under ${publicKey}`);
