// Test image only (Dockerfile target softhsm-sidecar): generates the token's KEK root key inside
// SoftHSM2 as a sensitive, non-extractable CKK_GENERIC_SECRET key, as an HSM administrator would.
// Usage: node softhsm-init.mjs <token label> <key label> <pin>
import { createRequire } from 'node:module';
import process from 'node:process';

const pkcs11js = createRequire('/app/package.json')('pkcs11js');
const [tokenLabel, keyLabel, pin] = process.argv.slice(2);
if (!tokenLabel || !keyLabel || !pin) throw new Error('usage: softhsm-init.mjs <token label> <key label> <pin>');

const p11 = new pkcs11js.PKCS11();
p11.load('/usr/lib/softhsm/libsofthsm2.so');
p11.C_Initialize();
try {
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trimEnd() === tokenLabel);
  if (!slot) throw new Error(`token ${tokenLabel} not found`);
  const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  p11.C_Login(session, pkcs11js.CKU_USER, pin);
  p11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN }, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_SIGN, value: true },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_LABEL, value: keyLabel },
  ]);
  p11.C_Logout(session);
  p11.C_CloseSession(session);
} finally {
  p11.C_Finalize();
}
process.stdout.write(`SoftHSM2 token "${tokenLabel}" holds key "${keyLabel}"\n`);
