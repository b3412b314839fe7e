import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { base58, base58check } from '@scure/base';
import * as btc from '@scure/btc-signer';
import { computeAddress } from 'ethers';
import { publicKeyToAddress } from 'viem/accounts';
import { addressesFor, InvalidPublicKeyError } from './addresses.ts';

const RANDOM_KEYS = 150;
const hex = (b: Uint8Array): `0x${string}` => `0x${bytesToHex(b)}`;

function secpKeyFromSecret(secretHex: string): Uint8Array {
  return secp256k1.getPublicKey(hexToBytes(secretHex), true);
}

describe('SECP256K1 addresses', () => {
  test('match ethers, viem and @scure/btc-signer for random keys, from either encoding', () => {
    for (let i = 0; i < RANDOM_KEYS; i++) {
      const secret = secp256k1.utils.randomSecretKey();
      const compressed = secp256k1.getPublicKey(secret, true);
      const uncompressed = secp256k1.getPublicKey(secret, false);
      const { address, addresses } = addressesFor('SECP256K1', compressed);
      assert.deepEqual(addressesFor('SECP256K1', uncompressed), { address, addresses });

      assert.equal(address, addresses.EVM);
      assert.equal(addresses.EVM, computeAddress(hex(compressed)));
      assert.equal(addresses.EVM, publicKeyToAddress(hex(uncompressed)));
      assert.equal(addresses.BITCOIN_P2WPKH, btc.p2wpkh(compressed).address);
      assert.equal(addresses.BITCOIN_P2PKH, btc.p2pkh(compressed).address);

      // TRON's payload is 0x41 followed by the EVM account id.
      const tron = base58check(sha256).decode(addresses.TRON as string);
      assert.equal(bytesToHex(tron), '41' + (addresses.EVM as string).slice(2).toLowerCase());

      const testnet = addressesFor('SECP256K1', compressed, { bitcoinNetwork: 'testnet' }).addresses;
      assert.equal(testnet.BITCOIN_P2WPKH, btc.p2wpkh(compressed, btc.TEST_NETWORK).address);
      assert.equal(testnet.BITCOIN_P2PKH, btc.p2pkh(compressed, btc.TEST_NETWORK).address);
      assert.equal(testnet.EVM, addresses.EVM);
    }
  });

  test('published vectors', () => {
    // Secret key 1 (the generator): widely published Ethereum and Bitcoin addresses;
    // the bech32 one is BIP-173's own P2WPKH example.
    const g = secpKeyFromSecret('0000000000000000000000000000000000000000000000000000000000000001');
    const a = addressesFor('SECP256K1', g).addresses;
    assert.equal(a.EVM, '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf');
    assert.equal(a.BITCOIN_P2WPKH, 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
    assert.equal(a.BITCOIN_P2PKH, '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH');
    const t = addressesFor('SECP256K1', g, { bitcoinNetwork: 'testnet' }).addresses;
    assert.equal(t.BITCOIN_P2WPKH, 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx');
  });

  test('TRON published vectors', () => {
    // trezor-firmware core/tests/test_apps.tron.address.py, the one key there that is on the curve
    // (its other two are arbitrary bytes; they are among the rejected keys below).
    const trezorKey = hexToBytes(
      '04aee772c640a56bfd434cc6c41b661467f0fac8ad922cd0d6f37a25a9faab506c9d687d8d4ad0957ca8a07b15db6b39ab2fa56cc81b49f2f92d44e1cdd2f4f266',
    );
    assert.equal(addressesFor('SECP256K1', trezorKey).addresses.TRON, 'TY72iA3SBtrds3QLYsS7LwYfkzXwAXCRWT');
    // Private key -> address pairs: trezor-firmware test_apps.tron.address.py (from the Binance JS SDK),
    // trustwallet/trust-core Tests/Tron/TronAddressTests.swift, tronpy docs (generate_address example).
    const fromSecrets: [string, string][] = [
      ['8d596057e510b14cbb9bf24f88803a6d6dbd138dd303a62b175b9e6cc0f3f941', 'TY72iA3SBtrds3QLYsS7LwYfkzXwAXCRWT'],
      ['BE88DF1D0BF30A923CB39C3BB953178BAAF3726E8D3CE81E7C8462E046E0D835', 'THRF3GuPnvvPzKoaT8pJex5XHmo8NNbCb3'],
      ['c5e6a5b71d109f1879c2fe48a10f31b55c13d0cfe46c80cd55456c823d7be0ec', 'TRbkuCKpqPCFEnWTExeeuADA4pNF9Mqwfb'],
    ];
    for (const [secret, tron] of fromSecrets) {
      assert.equal(addressesFor('SECP256K1', secpKeyFromSecret(secret)).addresses.TRON, tron);
    }
  });

  test('rejects keys of the wrong length or off the curve', () => {
    const valid = secpKeyFromSecret('0000000000000000000000000000000000000000000000000000000000000001');
    const offCurveY = secp256k1.getPublicKey(hexToBytes('00'.repeat(31) + '02'), false);
    offCurveY[64] = (offCurveY[64] as number) ^ 1;
    const badPrefix = Uint8Array.from(valid);
    badPrefix[0] = 0x05;
    // x = 5 has no y on secp256k1 (5^3 + 7 = 132 is not a square mod p).
    const noSuchX = hexToBytes('02' + '00'.repeat(31) + '05');
    const xTooLarge = hexToBytes('02' + 'ff'.repeat(32));
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(), /33 bytes .* or 65 bytes/],
      ['32 bytes', valid.subarray(1), /got 32/],
      ['64 bytes (no prefix)', secp256k1.getPublicKey(hexToBytes('00'.repeat(31) + '02'), false).subarray(1), /got 64/],
      ['y off the curve', offCurveY, /not a point on the curve/],
      ['bad prefix', badPrefix, /not a point on the curve/],
      ['x with no y', noSuchX, /not a point on the curve/],
      ['x >= p', xTooLarge, /not a point on the curve/],
      [
        'trezor test bytes that are not a key',
        hexToBytes(
          '041cc8ed55001c441a9ca7b42129f025f33ff30ea29dfe88fc9f8ad8826582c73b52d47c475c75da0cc9f64a6462ca57e70a8902a79cccc4e769cc0261c691ce4f',
        ),
        /not a point on the curve/,
      ],
    ];
    for (const [name, key, message] of cases) {
      assert.throws(
        () => addressesFor('SECP256K1', key),
        (err: unknown) => err instanceof InvalidPublicKeyError && message.test(err.message),
        name,
      );
    }
  });
});

describe('ED25519 addresses', () => {
  test('Solana published keypairs', () => {
    // solders keypair tutorial (https://kevinheavey.github.io/solders/tutorials/keypairs.html):
    // the 64-byte secret is seed ‖ public key.
    const keypair = Uint8Array.from([
      174, 47, 154, 16, 202, 193, 206, 113, 199, 190, 53, 133, 169, 175, 31, 56, 222, 53, 138, 189, 224, 216, 117, 173,
      10, 149, 53, 45, 73, 251, 237, 246, 15, 185, 186, 82, 177, 240, 148, 69, 241, 227, 167, 80, 141, 89, 240, 121,
      121, 35, 172, 247, 68, 251, 226, 218, 48, 63, 176, 109, 168, 89, 238, 135,
    ]);
    const fromBase58 = base58.decode(
      '5MaiiCavjCmn9Hs1o3eznqDEhRwxo7pXiAYez7keQUviUkauRiTMD8DrESdrNjN8zd9mTmVhRvBJeg5vhyvgrAhG',
    );
    const vectors: [Uint8Array, string][] = [
      [keypair, '24PNhTaNtomHhoy3fTRaMhAFCRj4uHqhZEEoWrKDbR5p'],
      [fromBase58, '5pVyoAeURQHNMVU7DmfMHvCDNmTEYXWfEwc136GYhTKG'],
      // Signet.Solana.Keys docs (hexdocs.pm/signet): the all-zero seed.
      [new Uint8Array(32), '4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS'],
    ];
    for (const [secret, expected] of vectors) {
      const publicKey = ed25519.getPublicKey(secret.subarray(0, 32));
      if (secret.length === 64) assert.deepEqual(publicKey, secret.subarray(32));
      assert.deepEqual(addressesFor('ED25519', publicKey), { address: expected, addresses: { SOLANA: expected } });
    }
  });

  test('round-trips random keys through base58', () => {
    for (let i = 0; i < RANDOM_KEYS; i++) {
      const publicKey = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
      const { address } = addressesFor('ED25519', publicKey);
      assert.deepEqual(base58.decode(address), publicKey);
    }
  });

  test('rejects wrong length, undecodable and small-order keys', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const notOnCurve = new Uint8Array(32);
    notOnCurve[0] = 2; // y = 2 has no x on edwards25519
    const cases: [string, Uint8Array, RegExp][] = [
      ['31 bytes', new Uint8Array(31), /must be 32 bytes, got 31/],
      ['33 bytes', new Uint8Array(33), /must be 32 bytes, got 33/],
      ['not on the curve', notOnCurve, /not a point on the curve/],
      ['identity', identity, /small order/],
    ];
    for (const [name, key, message] of cases) {
      assert.throws(
        () => addressesFor('ED25519', key),
        (err: unknown) => err instanceof InvalidPublicKeyError && message.test(err.message),
        name,
      );
    }
  });
});

describe('BLS12_381 addresses', () => {
  test('Ethereum consensus spec vector and random keys', () => {
    // consensus-specs BLS "verify" vectors: secret 0x263d…40e3 has this public key.
    const spec = hexToBytes(
      'a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a',
    );
    const derived = bls12_381.longSignatures
      .getPublicKey(hexToBytes('263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3'))
      .toBytes();
    assert.deepEqual(derived, spec);
    assert.deepEqual(addressesFor('BLS12_381', spec), {
      address: hex(spec),
      addresses: { ETH_CONSENSUS: hex(spec) },
    });
    for (let i = 0; i < 10; i++) {
      const pk = bls12_381.longSignatures.getPublicKey(bls12_381.utils.randomSecretKey()).toBytes();
      assert.equal(addressesFor('BLS12_381', pk).addresses.ETH_CONSENSUS, hex(pk));
    }
  });

  test('rejects wrong length, identity, uncompressed and off-curve keys', () => {
    const identity = new Uint8Array(48);
    identity[0] = 0xc0; // compressed + infinity flags
    const noCompressionFlag = hexToBytes(
      '2491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a',
    );
    // x = 1 is not the x coordinate of any G1 point (1 + 4 = 5 is not a square mod p).
    const noSuchX = new Uint8Array(48);
    noSuchX[0] = 0x80;
    noSuchX[47] = 1;
    const cases: [string, Uint8Array, RegExp][] = [
      ['47 bytes', new Uint8Array(47), /must be 48 bytes .* got 47/],
      ['96 bytes (uncompressed)', new Uint8Array(96), /must be 48 bytes .* got 96/],
      ['identity', identity, /identity/],
      ['no compression flag', noCompressionFlag, /not a valid G1 point/],
      ['x with no y', noSuchX, /not a valid G1 point/],
    ];
    for (const [name, key, message] of cases) {
      assert.throws(
        () => addressesFor('BLS12_381', key),
        (err: unknown) => err instanceof InvalidPublicKeyError && message.test(err.message),
        name,
      );
    }
  });
});
