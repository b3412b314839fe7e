/**
 * Wire encoding of GG18 messages and shares: JSON with big integers and points as lowercase hex,
 * validated by zod on the way in. A message that does not parse names its sender.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { z } from 'zod';
import { ProtocolAbort, type PartyId } from '../types.ts';
import type { Point } from './common.ts';

export const nat = z
  .string()
  .regex(/^[0-9a-f]{1,2400}$/)
  .transform((s) => BigInt('0x' + s));

export const int = z
  .string()
  .regex(/^-?[0-9a-f]{1,2400}$/)
  .transform((s) => (s.startsWith('-') ? -BigInt('0x' + s.slice(1)) : BigInt('0x' + s)));

export const bytes = z
  .string()
  .regex(/^([0-9a-f]{2}){1,64}$/)
  .transform((s) => Uint8Array.from(Buffer.from(s, 'hex')));

export const point = z
  .string()
  .regex(/^[0-9a-f]{66}$/)
  .transform((s, ctx): Point => {
    try {
      const p = secp256k1.Point.fromHex(s);
      if (!p.is0()) return p;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'not a curve point' });
    return z.NEVER;
  });

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value < 0n ? '-' + (-value).toString(16) : value.toString(16);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof secp256k1.Point) return value.toHex(true);
  return value;
}

export function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, replacer));
}

/** Parses a message from `from`; anything malformed aborts naming the sender. */
export function decodeFrom<S extends z.ZodType>(
  schema: S,
  payload: Uint8Array,
  from: PartyId | undefined,
  what: string,
): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new ProtocolAbort(from, `malformed ${what}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ProtocolAbort(from, `malformed ${what}`);
  return parsed.data;
}

export const dlnProof = z.object({
  commitments: z.array(nat).max(256),
  responses: z.array(nat).max(256),
});

export const ringPedersenProof = z.object({ h2FromH1: dlnProof, h1FromH2: dlnProof });

export const blumProof = z.object({
  w: nat,
  x: z.array(nat).max(256),
  a: z.array(z.boolean()).max(256),
  b: z.array(z.boolean()).max(256),
  z: z.array(nat).max(256),
});

export const facProof = z.object({
  P: nat,
  Q: nat,
  A: nat,
  B: nat,
  T: nat,
  sigma: int,
  z1: int,
  z2: int,
  w1: int,
  w2: int,
  v: int,
});

export const aliceProof = z.object({ z: nat, u: nat, w: nat, s: nat, s1: nat, s2: nat });

export const bobProof = z.object({
  u: bytes.optional(),
  z: nat,
  zPrime: nat,
  t: nat,
  v: nat,
  w: nat,
  s: nat,
  s1: nat,
  s2: nat,
  t1: nat,
  t2: nat,
});

export const dlogProof = z.object({ A: point, z: nat });
export const twoBaseProof = z.object({ A: point, z1: nat, z2: nat });
