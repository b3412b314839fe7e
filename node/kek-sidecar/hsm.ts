/**
 * Derives a node's KEK inside a PKCS#11 token: KEK = CKM_SHA256_HMAC(HSM key, "custos-kek-v1|<node id>").
 * The HSM key is a CKK_GENERIC_SECRET key, sensitive and non-extractable, so it never leaves the
 * token; only the 32-byte HMAC does. The label is versioned (a new derivation gets v2) and bound to
 * the node id, so one HSM key serves every node without two nodes ever sharing a KEK.
 */
import pkcs11js from 'pkcs11js';
import { KEK_BYTES } from './protocol.ts';

export const KEK_LABEL_PREFIX = 'custos-kek-v1|';

export type HsmErrorCode =
  | 'MODULE_UNLOADABLE'
  | 'TOKEN_NOT_FOUND'
  | 'PIN_INCORRECT'
  | 'KEY_NOT_FOUND'
  | 'KEY_AMBIGUOUS'
  | 'KEY_EXTRACTABLE'
  | 'MECHANISM_UNSUPPORTED'
  | 'HSM_ERROR';

export class HsmError extends Error {
  constructor(
    readonly code: HsmErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HsmError';
  }
}

export interface HsmKeyRef {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  readonly module: string;
  readonly tokenLabel: string;
  readonly keyLabel: string;
}

/** The exact bytes the HSM signs for a node. */
export function kekLabel(nodeId: string): Buffer {
  return Buffer.from(`${KEK_LABEL_PREFIX}${nodeId}`, 'utf8');
}

/**
 * Opens the module, logs in as the token's user, derives the node's KEK and closes everything
 * again. The caller owns (and zeroes) the result. pkcs11js takes the PIN as a string, which cannot
 * be zeroed; it lives only for this call.
 */
export function deriveKekInHsm(ref: HsmKeyRef, pin: string, nodeId: string): Uint8Array {
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(ref.module);
  } catch (err) {
    throw new HsmError('MODULE_UNLOADABLE', `cannot load PKCS#11 module ${ref.module}: ${(err as Error).message}`);
  }
  try {
    call('C_Initialize', () => p11.C_Initialize());
  } catch (err) {
    throw new HsmError('MODULE_UNLOADABLE', `PKCS#11 module ${ref.module} fails to initialise: ${describe(err)}`);
  }
  try {
    const slot = findTokenSlot(p11, ref.tokenLabel);
    if (!call('C_GetMechanismList', () => p11.C_GetMechanismList(slot)).includes(pkcs11js.CKM_SHA256_HMAC)) {
      throw new HsmError('MECHANISM_UNSUPPORTED', `token "${ref.tokenLabel}" does not offer CKM_SHA256_HMAC`);
    }
    const session = call('C_OpenSession', () => p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION));
    try {
      login(p11, session, pin, ref.tokenLabel);
      const key = findSecretKey(p11, session, ref.keyLabel);
      return hmacInToken(p11, session, key, kekLabel(nodeId));
    } finally {
      ignoreErrors(() => p11.C_CloseSession(session));
    }
  } finally {
    ignoreErrors(() => p11.C_Finalize());
  }
}

function findTokenSlot(p11: pkcs11js.PKCS11, label: string): pkcs11js.Handle {
  const slots = call('C_GetSlotList', () => p11.C_GetSlotList(true));
  // Token labels are blank-padded to 32 bytes.
  const slot = slots.find((s) => call('C_GetTokenInfo', () => p11.C_GetTokenInfo(s)).label.trimEnd() === label);
  if (!slot) throw new HsmError('TOKEN_NOT_FOUND', `no token labelled "${label}" among ${slots.length} slot(s)`);
  return slot;
}

function login(p11: pkcs11js.PKCS11, session: pkcs11js.Handle, pin: string, tokenLabel: string): void {
  try {
    p11.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (err) {
    const code = pkcs11Code(err);
    if (code === pkcs11js.CKR_PIN_INCORRECT) {
      throw new HsmError('PIN_INCORRECT', `wrong user PIN for token "${tokenLabel}" (CKR_PIN_INCORRECT)`);
    }
    if (code === pkcs11js.CKR_PIN_LOCKED) throw new HsmError('PIN_INCORRECT', `token "${tokenLabel}": PIN locked`);
    if (code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw hsmError('C_Login', err);
  }
}

function findSecretKey(p11: pkcs11js.PKCS11, session: pkcs11js.Handle, label: string): pkcs11js.Handle {
  const template = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ];
  const keys = call('C_FindObjects', () => {
    p11.C_FindObjectsInit(session, template);
    try {
      return p11.C_FindObjects(session, 2);
    } finally {
      p11.C_FindObjectsFinal(session);
    }
  });
  if (keys.length === 0) throw new HsmError('KEY_NOT_FOUND', `no secret key labelled "${label}" on the token`);
  if (keys.length > 1) throw new HsmError('KEY_AMBIGUOUS', `more than one secret key labelled "${label}"`);
  const key = keys[0] as pkcs11js.Handle;
  // A key that could be exported would make "the HSM key never leaves the HSM" a promise nobody keeps.
  const [sensitive, extractable] = call('C_GetAttributeValue', () =>
    p11.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }]),
  );
  if (!isTrue(sensitive?.value) || isTrue(extractable?.value)) {
    throw new HsmError('KEY_EXTRACTABLE', `key "${label}" must be CKA_SENSITIVE and not CKA_EXTRACTABLE`);
  }
  return key;
}

function hmacInToken(p11: pkcs11js.PKCS11, session: pkcs11js.Handle, key: pkcs11js.Handle, data: Buffer): Uint8Array {
  try {
    p11.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_HMAC }, key);
  } catch (err) {
    const code = pkcs11Code(err);
    if (code === pkcs11js.CKR_MECHANISM_INVALID || code === pkcs11js.CKR_KEY_TYPE_INCONSISTENT) {
      throw new HsmError('MECHANISM_UNSUPPORTED', `CKM_SHA256_HMAC refused for this key: ${describe(err)}`);
    }
    throw hsmError('C_SignInit', err);
  }
  const out = Buffer.alloc(KEK_BYTES);
  const mac = call('C_Sign', () => p11.C_Sign(session, data, out));
  try {
    if (mac.length !== KEK_BYTES) throw new HsmError('HSM_ERROR', `C_Sign returned ${mac.length} bytes, not 32`);
    return new Uint8Array(mac);
  } finally {
    out.fill(0);
  }
}

function isTrue(value: unknown): boolean {
  return Buffer.isBuffer(value) ? value.length > 0 && value[0] !== 0 : value === true;
}

/** Runs one PKCS#11 call, turning its failure into an HsmError that names the call. */
function call<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof HsmError) throw err;
    throw hsmError(name, err);
  }
}

function hsmError(name: string, err: unknown): HsmError {
  return new HsmError('HSM_ERROR', `${name} failed: ${describe(err)}`);
}

function pkcs11Code(err: unknown): number | undefined {
  return err instanceof pkcs11js.Pkcs11Error ? err.code : undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function ignoreErrors(fn: () => void): void {
  try {
    fn();
  } catch {
    // Cleanup after success or after the error already being reported.
  }
}
