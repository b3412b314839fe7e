/**
 * Strict binary encoding for protocol messages and serialised shares: fixed-width big-endian
 * integers, length-prefixed byte strings and UTF-8 strings. The reader rejects truncation,
 * oversized lengths and trailing bytes, so every accepted input has exactly one encoding.
 */

/** The input is not a valid encoding. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Appends fields to one growing buffer. Buffers it outgrows are zeroed, so secret fields written
 * into it leave no stray copies; the caller zeroes the result of `finish()` when it holds secrets.
 */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf.fill(0);
    this.buf = next;
  }

  u8(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xff) throw new RangeError(`u8 out of range: ${n}`);
    this.reserve(1);
    this.buf[this.len++] = n;
    return this;
  }

  u16(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`u16 out of range: ${n}`);
    this.reserve(2);
    this.buf[this.len++] = n >>> 8;
    this.buf[this.len++] = n & 0xff;
    return this;
  }

  u32(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`u32 out of range: ${n}`);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset).setUint32(this.len, n);
    this.len += 4;
    return this;
  }

  /** Raw bytes whose length the reader knows from context. */
  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Bytes prefixed with their u32 length. */
  varBytes(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }

  /** A UTF-8 string prefixed with its u16 byte length. */
  string(s: string): this {
    const b = utf8Encoder.encode(s);
    return this.u16(b.length).bytes(b);
  }

  /** The encoding; the writer is empty afterwards. */
  finish(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.buf.fill(0);
    this.len = 0;
    return out;
  }
}

/** Reads fields in order; every method throws DecodeError instead of reading past the end. */
export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  private take(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) {
      throw new DecodeError(`truncated: need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos}`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }

  u32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  /** Exactly `n` bytes, copied out of the input. */
  bytes(n: number): Uint8Array {
    return this.take(n).slice();
  }

  /** A u32-length-prefixed byte string of at most `max` bytes. */
  varBytes(max: number): Uint8Array {
    const n = this.u32();
    if (n > max) throw new DecodeError(`length ${n} exceeds the limit ${max}`);
    return this.bytes(n);
  }

  /** A u16-length-prefixed UTF-8 string of at most `maxBytes` bytes. */
  string(maxBytes: number): string {
    const n = this.u16();
    if (n > maxBytes) throw new DecodeError(`string length ${n} exceeds the limit ${maxBytes}`);
    try {
      return utf8Decoder.decode(this.take(n));
    } catch {
      throw new DecodeError('string is not valid UTF-8');
    }
  }

  /** Reads a tag and fails unless it equals `expected`. */
  expectU8(expected: number, what: string): void {
    const got = this.u8();
    if (got !== expected) throw new DecodeError(`${what}: expected ${expected}, got ${got}`);
  }

  /** Reads a string and fails unless it equals `expected`. */
  expectString(expected: string, what: string): void {
    const got = this.string(utf8Encoder.encode(expected).length);
    if (got !== expected) throw new DecodeError(`${what}: expected "${expected}", got "${got}"`);
  }

  /** Fails if any input is left unread. */
  end(): void {
    if (this.pos !== this.buf.length) throw new DecodeError(`${this.buf.length - this.pos} trailing bytes`);
  }
}

/** Decodes all of `bytes` with `read`, rejecting trailing data. */
export function decodeAll<T>(bytes: Uint8Array, read: (r: ByteReader) => T): T {
  const reader = new ByteReader(bytes);
  const value = read(reader);
  reader.end();
  return value;
}

/** An unambiguous concatenation (each part prefixed by its u32 length), for hashing transcripts. */
export function encodeTranscript(parts: readonly (Uint8Array | string)[]): Uint8Array {
  const w = new ByteWriter();
  for (const part of parts) w.varBytes(typeof part === 'string' ? utf8Encoder.encode(part) : part);
  return w.finish();
}
