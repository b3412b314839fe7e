/**
 * A throwaway SoftHSM2 token for the HSM tests: its own SOFTHSM2_CONF and token directory under a
 * temp dir (never the system token directory), and secret keys created through PKCS#11 itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  readonly conf: string;
  readonly tokenLabel: string;
  readonly pin: string;
}

/** Initialises a fresh token; `softhsm2-util` comes from hack/setup.d/15-softhsm.sh. */
export function initSoftHsmToken(dir: string, tokenLabel: string, pin: string): SoftHsmToken {
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', `so-${pin}`],
    { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' },
  );
  return { conf, tokenLabel, pin };
}

export type KeySpec =
  { label: string; kind: 'hmac'; value: Uint8Array; extractable: boolean } | { label: string; kind: 'aes' };

/**
 * Creates token objects as a user of `token`. SoftHSM reads SOFTHSM2_CONF when the module
 * initialises, so this process's environment points at the test token from here on.
 */
export function createKeys(token: SoftHsmToken, keys: readonly KeySpec[]): void {
  process.env.SOFTHSM2_CONF = token.conf;
  const p11 = new pkcs11js.PKCS11();
  p11.load(SOFTHSM_MODULE);
  p11.C_Initialize();
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel);
    if (!slot) throw new Error(`token ${token.tokenLabel} not found`);
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_Login(session, pkcs11js.CKU_USER, token.pin);
    for (const key of keys) {
      const common = [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_LABEL, value: key.label },
      ];
      if (key.kind === 'hmac') {
        // C_CreateObject with a known value, so the test can check the derivation independently.
        p11.C_CreateObject(session, [
          ...common,
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
          { type: pkcs11js.CKA_VALUE, value: Buffer.from(key.value) },
          { type: pkcs11js.CKA_SIGN, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: !key.extractable },
          { type: pkcs11js.CKA_EXTRACTABLE, value: key.extractable },
        ]);
      } else {
        p11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          ...common,
          { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
          { type: pkcs11js.CKA_ENCRYPT, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        ]);
      }
    }
    p11.C_Logout(session);
    p11.C_CloseSession(session);
  } finally {
    p11.C_Finalize();
  }
}

/** Whether the token lets a logged-in user read a key's value (it must not for the KEK key). */
export function keyValueReadable(token: SoftHsmToken, label: string): boolean {
  process.env.SOFTHSM2_CONF = token.conf;
  const p11 = new pkcs11js.PKCS11();
  p11.load(SOFTHSM_MODULE);
  p11.C_Initialize();
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel)!;
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    p11.C_Login(session, pkcs11js.CKU_USER, token.pin);
    p11.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
    const [key] = p11.C_FindObjects(session, 1);
    p11.C_FindObjectsFinal(session);
    try {
      p11.C_GetAttributeValue(session, key!, [{ type: pkcs11js.CKA_VALUE }]);
      return true;
    } catch (err) {
      if (err instanceof pkcs11js.Pkcs11Error && err.code === pkcs11js.CKR_ATTRIBUTE_SENSITIVE) return false;
      throw err;
    } finally {
      p11.C_Logout(session);
      p11.C_CloseSession(session);
    }
  } finally {
    p11.C_Finalize();
  }
}
