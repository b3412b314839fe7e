import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { ByteReader, ByteWriter, decodeAll, DecodeError, encodeTranscript } from './encoding.ts';

describe('encoding', () => {
  it('round-trips every field type', () => {
    const bytes = new ByteWriter()
      .u8(7)
      .u16(0xbeef)
      .u32(0xdeadbeef)
      .bytes(Uint8Array.of(1, 2))
      .varBytes(Uint8Array.of(3))
      .string('tss1')
      .finish();
    const out = decodeAll(bytes, (r) => [r.u8(), r.u16(), r.u32(), [...r.bytes(2)], [...r.varBytes(8)], r.string(8)]);
    assert.deepEqual(out, [7, 0xbeef, 0xdeadbeef, [1, 2], [3], 'tss1']);
  });

  it('rejects truncation, trailing bytes and oversized lengths', () => {
    const bytes = new ByteWriter()
      .u16(5)
      .varBytes(Uint8Array.of(1, 2, 3))
      .finish();
    assert.throws(() => decodeAll(bytes.subarray(0, bytes.length - 1), (r) => [r.u16(), r.varBytes(8)]), DecodeError);
    assert.throws(() => decodeAll(bytes, (r) => r.u16()), /trailing/);
    assert.throws(() => decodeAll(bytes, (r) => [r.u16(), r.varBytes(2)]), /exceeds the limit/);
  });

  it('checks tags and rejects invalid UTF-8', () => {
    const r = new ByteReader(new ByteWriter().u8(1).string('a').finish());
    assert.throws(() => r.expectU8(2, 'version'), /version: expected 2, got 1/);
    const bad = new ByteWriter().u16(1).bytes(Uint8Array.of(0xff)).finish();
    assert.throws(() => decodeAll(bad, (x) => x.string(4)), /UTF-8/);
  });

  it('refuses out-of-range integers when writing', () => {
    assert.throws(() => new ByteWriter().u8(256), RangeError);
    assert.throws(() => new ByteWriter().u16(-1), RangeError);
  });

  it('grows past its initial buffer', () => {
    const big = new Uint8Array(1000).fill(9);
    assert.deepEqual(
      decodeAll(new ByteWriter().varBytes(big).finish(), (r) => r.varBytes(1000)),
      big,
    );
  });

  it('makes transcripts unambiguous', () => {
    assert.notDeepEqual(encodeTranscript(['ab', 'c']), encodeTranscript(['a', 'bc']));
  });
});
