/**
 * The attacker of the forward-secrecy tests: holds every node's certificate private key and a
 * recorded envelope, and tries the former ECIES derivation (recipient certificate key ECDH the
 * envelope's ephemeral key, HKDF-SHA-256 with ephemeral|recipient as salt and the AAD as info)
 * and every ECDH between a certificate private key and any public value it has seen.
 */
import { createDecipheriv, createECDH, hkdfSync, type KeyObject } from 'node:crypto';
import { envelopeAad } from '../../common/envelope/envelope.ts';
import type { Envelope } from '../../common/rpc/tss-service.ts';

/** How many derivations decrypted `env` (0 when the envelope is forward-secret). */
export function oldEciesAttempts(
  env: Envelope,
  certPrivateKeys: KeyObject[],
  seenPublicKeys: KeyObject[],
  seenRawPublicKeys: Uint8Array[] = [],
): number {
  const aad = envelopeAad(env.session_id, env.round, env.from, env.to);
  const publics = [
    ...seenPublicKeys.map(rawP256),
    ...seenRawPublicKeys.map((k) => Buffer.from(k)),
    ...(env.ephemeral_public_key.length ? [Buffer.from(env.ephemeral_public_key)] : []),
  ];
  let opened = 0;
  for (const priv of certPrivateKeys) {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(priv.export({ format: 'jwk' }).d!, 'base64url'));
    const own = ecdh.getPublicKey();
    for (const pub of publics) {
      let shared: Buffer;
      try {
        shared = ecdh.computeSecret(pub);
      } catch {
        continue;
      }
      for (const salt of [Buffer.concat([pub, own]), Buffer.concat([own, pub]), Buffer.alloc(0)]) {
        const key = Buffer.from(hkdfSync('sha256', shared, salt, aad, 32));
        if (tryGcm(env, key, aad)) opened++;
      }
    }
  }
  return opened;
}

function rawP256(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

function tryGcm(env: Envelope, key: Buffer, aad: Buffer): boolean {
  const body = Buffer.from(env.body);
  if (env.iv.length !== 12 || body.length < 16) return false;
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(env.iv)).setAAD(aad);
    d.setAuthTag(body.subarray(body.length - 16));
    d.update(body.subarray(0, body.length - 16));
    d.final();
    return true;
  } catch {
    return false;
  }
}
