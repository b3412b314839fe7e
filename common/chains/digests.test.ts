import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { hashMessage as ethersHashMessage, TypedDataEncoder, verifyMessage, verifyTypedData } from 'ethers';
import {
  hashMessage as viemHashMessage,
  hashTypedData as viemHashTypedData,
  recoverAddress,
  recoverMessageAddress,
  recoverTypedDataAddress,
} from 'viem';
import { z } from 'zod';
import { addressesFor } from './addresses.ts';
import { digestFor, InvalidSignDataError, MAX_SIGN_DATA_BYTES, SignDataSchema } from './digests.ts';
import { toRsv } from './signature.ts';

const hex = (b: Uint8Array): `0x${string}` => `0x${bytesToHex(b)}`;
type Json = Record<string, unknown>;
type Types = Record<string, { name: string; type: string }[]>;

/** The example of the EIP-712 specification, with the digest the specification states. */
const MAIL = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  domain: {
    name: 'Ether Mail',
    version: '1',
    chainId: 1,
    verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
  },
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
};
const MAIL_DIGEST = '0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2';

/** An ERC-2612 permit as wallets receive it over JSON: big integers as strings. */
const PERMIT = {
  types: {
    Permit: [
      { name: 'owner', type: 'address' },
      { name: 'spender', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'nonce', type: 'uint256' },
      { name: 'deadline', type: 'uint256' },
    ],
  },
  primaryType: 'Permit',
  domain: {
    name: 'USD Coin',
    version: '2',
    chainId: '137',
    verifyingContract: '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359',
  },
  message: {
    owner: '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf',
    spender: '0x000000000022D473030F116dDEE9F6B43aC78BA3',
    value: '115792089237316195423570985008687907853269984665640564039457584007913129639935',
    nonce: 0,
    deadline: '0x6553f100',
  },
};

/** Every kind of EIP-712 type: nested structs, dynamic and fixed arrays, bytes, bytesN, signed ints, bool. */
const RICH_TYPES: Types = {
  Order: [
    { name: 'maker', type: 'Party' },
    { name: 'legs', type: 'Leg[]' },
    { name: 'flags', type: 'bool[2]' },
    { name: 'memo', type: 'bytes' },
    { name: 'tag', type: 'bytes4' },
    { name: 'root', type: 'bytes32' },
    { name: 'delta', type: 'int64' },
    { name: 'matrix', type: 'uint8[][]' },
    { name: 'note', type: 'string' },
  ],
  Party: [
    { name: 'wallet', type: 'address' },
    { name: 'ids', type: 'uint256[]' },
  ],
  Leg: [
    { name: 'asset', type: 'address' },
    { name: 'amount', type: 'int256' },
  ],
};

function randomInt(max: number): number {
  return Math.floor(Math.random() * max);
}
function randomAddress(): string {
  return addressesFor('SECP256K1', secp256k1.getPublicKey(secp256k1.utils.randomSecretKey())).address;
}
function randomSignedDecimal(bits: number): string {
  const magnitude = BigInt(hex(randomBytes(bits / 8))) >> 1n;
  return (Math.random() < 0.5 ? -magnitude : magnitude).toString();
}
function randomOrder(): Json {
  return {
    maker: {
      wallet: randomAddress(),
      ids: Array.from({ length: randomInt(4) }, () => BigInt(hex(randomBytes(32))).toString()),
    },
    legs: Array.from({ length: randomInt(4) }, () => ({
      asset: randomAddress().toLowerCase(),
      amount: randomSignedDecimal(256),
    })),
    flags: [Math.random() < 0.5, Math.random() < 0.5],
    memo: hex(randomBytes(randomInt(70))),
    tag: hex(randomBytes(4)),
    root: hex(randomBytes(32)),
    delta: Number(randomSignedDecimal(48)),
    matrix: Array.from({ length: randomInt(3) }, () => Array.from({ length: randomInt(3) }, () => randomInt(256))),
    note: 'naïve ✓ ' + bytesToHex(randomBytes(randomInt(20))),
  };
}

/** ethers takes the types without EIP712Domain and the domain separately. */
function ethersTypedDigest(td: { types: Types; domain: Json; message: Json }): string {
  const { EIP712Domain: _domainType, ...types } = td.types;
  return TypedDataEncoder.hash(td.domain, types, td.message);
}

function assertRejected(
  dataType: Parameters<typeof digestFor>[0],
  data: unknown,
  message: RegExp,
  encoding?: 'hex' | 'utf8',
) {
  assert.throws(
    () => digestFor(dataType, data, encoding),
    (err: unknown) => err instanceof InvalidSignDataError && message.test(err.message),
    `${dataType} data should fail with ${message}`,
  );
}

describe('HASH', () => {
  test('returns the 32 bytes as given', () => {
    for (let i = 0; i < 50; i++) {
      const digest = randomBytes(32);
      assert.deepEqual(digestFor('HASH', hex(digest)), digest);
    }
    assert.deepEqual(digestFor('HASH', '0x' + 'AB'.repeat(32)), new Uint8Array(32).fill(0xab));
  });

  test('rejects anything but 32 bytes of 0x-hex', () => {
    for (const bad of [
      '0x' + '00'.repeat(31),
      '0x' + '00'.repeat(33),
      '00'.repeat(32),
      '0x' + 'zz'.repeat(32),
      '',
      42,
      null,
    ]) {
      assertRejected('HASH', bad, /HASH data must be exactly 32 bytes|expected string/);
    }
    assertRejected('HASH', '0x' + '00'.repeat(32), /encoding not allowed with data_type HASH/, 'utf8');
  });
});

describe('EIP191', () => {
  test('equals ethers hashMessage and viem hashMessage for random bytes and text', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(randomInt(300));
      const digest = hex(digestFor('EIP191', hex(bytes)));
      assert.equal(digest, ethersHashMessage(bytes));
      assert.equal(digest, viemHashMessage({ raw: bytes }));
      const text = `pay ${i} wei to ${bytesToHex(bytes).slice(0, 20)} — ünïcödé 🚀`;
      const textDigest = hex(digestFor('EIP191', text, 'utf8'));
      assert.equal(textDigest, ethersHashMessage(text));
      assert.equal(textDigest, viemHashMessage(text));
    }
    // The empty message and hex-looking text are signed as what the encoding says.
    assert.equal(hex(digestFor('EIP191', '0x')), ethersHashMessage(new Uint8Array()));
    assert.equal(hex(digestFor('EIP191', '0x1234', 'utf8')), ethersHashMessage('0x1234'));
    assert.equal(hex(digestFor('EIP191', '0x1234', 'hex')), ethersHashMessage(Uint8Array.of(0x12, 0x34)));
  });

  test('rejects text without utf8 encoding, odd hex, oversized data and unknown encodings', () => {
    assertRejected('EIP191', 'hello', /0x-prefixed hex bytes; to sign text, send "encoding": "utf8"/);
    assertRejected('EIP191', '0x123', /0x-prefixed hex bytes/);
    assertRejected('EIP191', '0x' + '00'.repeat(MAX_SIGN_DATA_BYTES + 1), /at most 65536 bytes/);
    assertRejected('EIP191', 'é'.repeat(MAX_SIGN_DATA_BYTES / 2 + 1), /at most 65536 bytes/, 'utf8');
    assertRejected('EIP191', '0x00', /encoding: Invalid option/, 'latin1' as 'utf8');
    assertRejected('EIP191', { message: 'hi' }, /expected string/);
  });
});

describe('EIP712', () => {
  test('the EIP-712 specification example', () => {
    assert.equal(hex(digestFor('EIP712', MAIL)), MAIL_DIGEST);
    assert.equal(ethersTypedDigest(MAIL), MAIL_DIGEST);
    // Without an explicit EIP712Domain the standard fields present are used, in the standard order.
    const { EIP712Domain: _d, ...types } = MAIL.types;
    assert.equal(hex(digestFor('EIP712', { ...MAIL, types })), MAIL_DIGEST);
  });

  test('JSON integers (strings, hex strings, numbers) hash as ethers and viem hash them', () => {
    const digest = hex(digestFor('EIP712', PERMIT));
    assert.equal(digest, ethersTypedDigest(PERMIT));
    assert.equal(digest, viemHashTypedData(normalizeForViem(PERMIT)));
  });

  test('random messages over every kind of type equal ethers and viem', () => {
    const domain = {
      name: 'Exchange',
      version: '3',
      chainId: 1,
      verifyingContract: randomAddress(),
      salt: hex(randomBytes(32)),
    };
    for (let i = 0; i < 40; i++) {
      const td = { types: RICH_TYPES, primaryType: 'Order', domain, message: randomOrder() };
      const digest = hex(digestFor('EIP712', td));
      assert.equal(digest, ethersTypedDigest(td), `ethers, message ${i}`);
      assert.equal(digest, viemHashTypedData(normalizeForViem(td)), `viem, message ${i}`);
    }
  });

  test('data as the JSON string of eth_signTypedData_v4 hashes as the object does', () => {
    assert.equal(hex(digestFor('EIP712', JSON.stringify(MAIL))), MAIL_DIGEST);
    assert.equal(hex(digestFor('EIP712', JSON.stringify(PERMIT))), hex(digestFor('EIP712', PERMIT)));
    assert.throws(
      () => digestFor('EIP712', '{"types":'),
      (e: unknown) => {
        assert.ok(e instanceof InvalidSignDataError);
        assert.match(e.message, /data: EIP712 data given as a string must be JSON typed data/);
        return true;
      },
    );
    // A string holding valid JSON that is not typed data is refused like the object would be.
    assert.throws(() => digestFor('EIP712', JSON.stringify({ ...MAIL, primaryType: 'Nope' })), InvalidSignDataError);
    assert.throws(() => digestFor('EIP712', '"just a string"'), InvalidSignDataError);
  });

  test('rejects malformed typed data with the field and the reason', () => {
    const mail = (patch: (td: typeof MAIL) => void) => {
      const td = structuredClone(MAIL);
      patch(td);
      return td;
    };
    const cases: [string, unknown, RegExp][] = [
      ['a string that is not JSON', 'Mail from Cow', /EIP712 data given as a string must be JSON typed data/],
      ['a number, not an object', 42, /EIP712 data must be the typed-data object/],
      ['missing types', { ...MAIL, types: undefined }, /data\.types: /],
      [
        'only EIP712Domain in types',
        { ...MAIL, types: { EIP712Domain: MAIL.types.EIP712Domain } },
        /types must declare the message struct/,
      ],
      [
        'unknown primaryType',
        { ...MAIL, primaryType: 'Mial' },
        /primaryType "Mial" is not declared in types \(declared: Person, Mail\)/,
      ],
      ['primaryType EIP712Domain', { ...MAIL, primaryType: 'EIP712Domain' }, /not EIP712Domain/],
      [
        'unknown field type',
        mail((td) => (td.types.Person[0]!.type = 'strin')),
        /data\.types\.Person\[0\]\.type: unknown type "strin"/,
      ],
      ['uint without size', mail((td) => (td.types.EIP712Domain[2]!.type = 'uint')), /unknown type "uint"/],
      ['uint7', mail((td) => (td.types.EIP712Domain[2]!.type = 'uint7')), /unknown type "uint7"/],
      ['bytes33', mail((td) => (td.types.Person[0]!.type = 'bytes33')), /unknown type "bytes33"/],
      ['zero-length array', mail((td) => (td.types.Person[0]!.type = 'string[0]')), /at least 1/],
      [
        'duplicate field',
        mail((td) => td.types.Person.push({ name: 'name', type: 'string' })),
        /duplicate field "name"/,
      ],
      ['bad field name', mail((td) => (td.types.Person[0]!.name = 'my name')), /field name must be an identifier/],
      [
        'missing field',
        mail((td) => delete (td.message.to as Partial<typeof td.message.to>).wallet),
        /data\.message\.to\.wallet: missing field "wallet" \(address\)/,
      ],
      [
        'undeclared field',
        mail((td) => ((td.message as Json).cc = 'x')),
        /data\.message\.cc: field "cc" is not declared in Mail/,
      ],
      [
        'short address',
        mail((td) => (td.message.to.wallet = '0x12')),
        /data\.message\.to\.wallet: expected an address/,
      ],
      [
        'bad checksum',
        mail((td) => (td.message.to.wallet = '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbb')),
        /invalid EIP-55 checksum/,
      ],
      [
        'struct given a string',
        mail((td) => ((td.message as Json).from = 'Cow')),
        /data\.message\.from: expected an object of type Person/,
      ],
      [
        'string given a number',
        mail((td) => ((td.message as Json).contents = 7)),
        /data\.message\.contents: expected a string/,
      ],
      [
        'chainId not an integer',
        mail((td) => ((td.domain as Json).chainId = 1.5)),
        /data\.domain\.chainId: expected uint256/,
      ],
      ['chainId negative', mail((td) => ((td.domain as Json).chainId = '-1')), /-1 is out of range for uint256/],
      [
        'chainId too large',
        mail((td) => ((td.domain as Json).chainId = (1n << 256n).toString())),
        /out of range for uint256/,
      ],
      [
        'domain field not declared',
        mail((td) => ((td.domain as Json).salt = '0x' + '00'.repeat(32))),
        /data\.domain\.salt: field "salt" is not declared in EIP712Domain/,
      ],
      [
        'unknown domain field',
        { ...PERMIT, domain: { ...PERMIT.domain, chain: 1 } },
        /data\.domain\.chain: unknown domain field "chain"/,
      ],
      ['extra top-level key', { ...MAIL, signer: '0x' }, /Unrecognized key: "signer"/],
      ['message an array', { ...MAIL, message: [] }, /data\.message: /],
    ];
    for (const [name, data, message] of cases) {
      assert.throws(
        () => digestFor('EIP712', data),
        (err: unknown) => err instanceof InvalidSignDataError && message.test(err.message),
        name,
      );
    }
  });

  test('value errors of every atomic kind name the field', () => {
    const td = (message: Json) => ({ types: RICH_TYPES, primaryType: 'Order', domain: {}, message });
    const good = randomOrder();
    const cases: [Json, RegExp][] = [
      [{ ...good, flags: [true] }, /data\.message\.flags: expected exactly 2 elements \(bool\[2\]\), got 1/],
      [{ ...good, flags: ['true', false] }, /data\.message\.flags\[0\]: expected true or false/],
      [{ ...good, memo: '0xabc' }, /data\.message\.memo: expected bytes as 0x-hex/],
      [{ ...good, tag: '0x' + '00'.repeat(5) }, /data\.message\.tag: expected bytes4: exactly 4 bytes/],
      [{ ...good, delta: (1n << 63n).toString() }, /out of range for int64/],
      [{ ...good, delta: 2 ** 60 }, /expected int64 as an integer/],
      [{ ...good, matrix: [[256]] }, /data\.message\.matrix\[0\]\[0\]: 256 is out of range for uint8/],
      [{ ...good, legs: {} }, /data\.message\.legs: expected an array \(Leg\[\]\)/],
      [{ ...good, legs: [{ asset: randomAddress() }] }, /data\.message\.legs\[0\]\.amount: missing field/],
    ];
    for (const [message, expected] of cases) {
      assert.throws(
        () => digestFor('EIP712', td(message)),
        (err: unknown) => err instanceof InvalidSignDataError && expected.test(err.message),
        String(expected),
      );
    }
  });
  test('recursive types hash as viem hashes them, and deep nesting is refused, not a stack overflow', () => {
    const types: Types = {
      Node: [
        { name: 'label', type: 'string' },
        { name: 'children', type: 'Node[]' },
      ],
    };
    const nest = (depth: number): Json => ({ label: `d${depth}`, children: depth === 0 ? [] : [nest(depth - 1)] });
    const shallow = { types, primaryType: 'Node', domain: { name: 'tree' }, message: nest(3) };
    assert.equal(hex(digestFor('EIP712', shallow)), viemHashTypedData(normalizeForViem(shallow)));
    let deep: Json = { label: 'leaf', children: [] };
    for (let i = 0; i < 20_000; i++) deep = { label: 'n', children: [deep] };
    assertRejected('EIP712', { ...shallow, message: deep }, /nested deeper than 64 levels/);
  });
});

describe('RAW', () => {
  test('returns the bytes as given, up to 64 KiB', () => {
    const bytes = randomBytes(MAX_SIGN_DATA_BYTES);
    assert.deepEqual(digestFor('RAW', hex(bytes)), bytes);
    assert.deepEqual(digestFor('RAW', '0x'), new Uint8Array());
  });

  test('rejects non-hex, odd length and oversized data', () => {
    assertRejected('RAW', 'hello', /RAW data must be 0x-prefixed hex/);
    assertRejected('RAW', '0x1', /RAW data must be 0x-prefixed hex/);
    assertRejected('RAW', hex(new Uint8Array(MAX_SIGN_DATA_BYTES + 1)), /at most 65536 bytes/);
    assertRejected('RAW', '0x00', /encoding not allowed with data_type RAW/, 'hex');
  });
});

describe('signatures over these digests recover to the key address', () => {
  const secret = secp256k1.utils.randomSecretKey();
  const evm = addressesFor('SECP256K1', secp256k1.getPublicKey(secret)).addresses.EVM as `0x${string}`;
  const sign = (digest: Uint8Array) => {
    // No low-s here: toRsv must normalise what a threshold protocol might produce.
    const sig = secp256k1.Signature.fromBytes(
      secp256k1.sign(digest, secret, { prehash: false, lowS: false, format: 'recovered' }),
      'recovered',
    );
    return toRsv(sig.r, sig.s, sig.recovery as number).signature;
  };

  test('HASH, with viem recoverAddress', async () => {
    for (let i = 0; i < 20; i++) {
      const hash = hex(randomBytes(32));
      assert.equal(await recoverAddress({ hash, signature: sign(digestFor('HASH', hash)) }), evm);
    }
  });

  test('EIP191, with ethers verifyMessage and viem recoverMessageAddress', async () => {
    for (let i = 0; i < 20; i++) {
      const bytes = randomBytes(1 + randomInt(100));
      const sigHex = sign(digestFor('EIP191', hex(bytes)));
      assert.equal(verifyMessage(bytes, sigHex), evm);
      assert.equal(await recoverMessageAddress({ message: { raw: bytes }, signature: sigHex }), evm);
      const text = `Sign in to Custos #${i}`;
      const sigText = sign(digestFor('EIP191', text, 'utf8'));
      assert.equal(verifyMessage(text, sigText), evm);
      assert.equal(await recoverMessageAddress({ message: text, signature: sigText }), evm);
    }
  });

  test('EIP712, with ethers verifyTypedData and viem recoverTypedDataAddress', async () => {
    for (const td of [
      MAIL,
      PERMIT,
      { types: RICH_TYPES, primaryType: 'Order', domain: { chainId: 5 }, message: randomOrder() },
    ]) {
      const signature = sign(digestFor('EIP712', td));
      const { EIP712Domain: _d, ...types } = td.types as Types;
      assert.equal(verifyTypedData(td.domain, types, td.message, signature), evm);
      const viemArgs = normalizeForViem(td as { types: Types; primaryType: string; domain: Json; message: Json });
      assert.equal(await recoverTypedDataAddress({ ...viemArgs, signature }), evm);
    }
  });
});

describe('SignDataSchema', () => {
  test('converts to JSON Schema for the OpenAPI document', () => {
    const schema = z.toJSONSchema(SignDataSchema) as { oneOf?: unknown[] };
    assert.equal(schema.oneOf?.length, 4);
  });
});

/** viem takes integers as bigint only: a minimal converter for the well-formed data of these tests. */
function normalizeForViem(td: { types: Types; primaryType: string; domain: Json; message: Json }) {
  const convert = (type: string, value: unknown): unknown => {
    const array = /^(.+)\[\d*\]$/.exec(type);
    if (array) return (value as unknown[]).map((v) => convert(array[1] as string, v));
    if (/^u?int\d+$/.test(type)) return BigInt(value as string | number);
    const fields = td.types[type];
    if (fields) return Object.fromEntries(fields.map((f) => [f.name, convert(f.type, (value as Json)[f.name])]));
    return value;
  };
  const domain =
    td.domain.chainId === undefined ? td.domain : { ...td.domain, chainId: BigInt(td.domain.chainId as string) };
  return {
    types: td.types,
    primaryType: td.primaryType,
    domain,
    message: convert(td.primaryType, td.message) as Json,
  } as Parameters<typeof viemHashTypedData>[0];
}
