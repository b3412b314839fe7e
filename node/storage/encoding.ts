/**
 * Unambiguous binary encodings for associated data and encrypted record bodies: every field is a
 * 4-byte big-endian length followed by its bytes, so no two different field lists encode alike
 * ("a|bc" vs "ab|c" cannot collide).
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export type Field = string | number | Uint8Array;

function fieldBytes(field: Field): Uint8Array {
  if (typeof field === 'string') return encoder.encode(field);
  if (typeof field === 'number') {
    if (!Number.isSafeInteger(field) || field < 0) throw new RangeError(`field must be a natural number: ${field}`);
    return encoder.encode(String(field));
  }
  return field;
}

/** Length-prefixed concatenation; the caller owns (and zeroes, if secret) the result. */
export function encodeFields(fields: readonly Field[]): Uint8Array {
  const parts = fields.map(fieldBytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/** Thrown when bytes do not decode as the expected field list. */
export class FieldDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldDecodeError';
  }
}

/** Reads fields written by encodeFields, in order; `done()` insists nothing is left over. */
export class FieldReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A view into the source bytes (not a copy). */
  bytesView(): Uint8Array {
    if (this.offset + 4 > this.bytes.length) throw new FieldDecodeError('truncated length');
    const length = this.view.getUint32(this.offset);
    const start = this.offset + 4;
    if (start + length > this.bytes.length) throw new FieldDecodeError('truncated field');
    this.offset = start + length;
    return this.bytes.subarray(start, start + length);
  }

  copy(): Uint8Array {
    return Uint8Array.from(this.bytesView());
  }

  string(): string {
    try {
      return decoder.decode(this.bytesView());
    } catch {
      throw new FieldDecodeError('invalid UTF-8');
    }
  }

  natural(): number {
    const text = this.string();
    if (!/^(0|[1-9][0-9]{0,14})$/.test(text)) throw new FieldDecodeError('invalid number');
    return Number(text);
  }

  /** True once every field has been read. */
  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  done(): void {
    if (this.offset !== this.bytes.length) throw new FieldDecodeError('trailing bytes');
  }
}
