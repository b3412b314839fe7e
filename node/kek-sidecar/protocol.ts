/**
 * The KEK socket protocol between the PKCS#11 sidecar and its node (docs/hsm.md). One request and
 * one response per connection, both framed and versioned:
 *
 *   request:  "CKEK" | version (1 byte) | node id length (1 byte) | node id (ASCII)
 *   response: "CKEK" | version (1 byte) | status (1 byte) | payload length (2 bytes, big-endian) | payload
 *
 * status OK carries the 32-byte KEK; any other status carries a UTF-8 reason. A peer speaking
 * another version gets BAD_REQUEST, so a future version can never be misread as this one.
 */
export const KEK_PROTOCOL_MAGIC = 'CKEK';
export const KEK_PROTOCOL_VERSION = 1;
export const KEK_BYTES = 32;
const MAGIC = Buffer.from(KEK_PROTOCOL_MAGIC, 'ascii');
const REQUEST_HEADER_BYTES = MAGIC.length + 2;
const RESPONSE_HEADER_BYTES = MAGIC.length + 4;
const MAX_NODE_ID_BYTES = 255;
const MAX_REASON_BYTES = 1024;

export const KekStatus = { OK: 0, WRONG_NODE: 1, BAD_REQUEST: 2 } as const;
export type KekStatus = (typeof KekStatus)[keyof typeof KekStatus];
const STATUSES = new Set<number>(Object.values(KekStatus));

export class KekProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KekProtocolError';
  }
}

export type KekResponse = { status: typeof KekStatus.OK; kek: Uint8Array } | { status: KekStatus; reason: string };

/** What a frame decoder found: not enough bytes yet, or a frame and how many bytes it used. */
export type Decoded<T> = { complete: false } | { complete: true; value: T; bytes: number };

export function encodeKekRequest(nodeId: string): Buffer {
  const id = Buffer.from(nodeId, 'ascii');
  if (id.length === 0 || id.length > MAX_NODE_ID_BYTES) throw new KekProtocolError('node id must be 1 to 255 bytes');
  return Buffer.concat([MAGIC, Buffer.from([KEK_PROTOCOL_VERSION, id.length]), id]);
}

export function decodeKekRequest(bytes: Uint8Array): Decoded<{ nodeId: string }> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkPrefix(buf);
  if (buf.length < REQUEST_HEADER_BYTES) return { complete: false };
  const length = buf[MAGIC.length + 1] as number;
  if (length === 0) throw new KekProtocolError('empty node id');
  const end = REQUEST_HEADER_BYTES + length;
  if (buf.length < end) return { complete: false };
  return { complete: true, value: { nodeId: buf.toString('ascii', REQUEST_HEADER_BYTES, end) }, bytes: end };
}

/** Frames the KEK; the returned buffer holds a copy the caller zeroes once written. */
export function encodeKekGranted(kek: Uint8Array): Buffer {
  if (kek.length !== KEK_BYTES) throw new KekProtocolError(`the KEK must be ${KEK_BYTES} bytes`);
  const frame = Buffer.alloc(RESPONSE_HEADER_BYTES + KEK_BYTES);
  writeResponseHeader(frame, KekStatus.OK, KEK_BYTES);
  frame.set(kek, RESPONSE_HEADER_BYTES);
  return frame;
}

export function encodeKekRefused(status: Exclude<KekStatus, typeof KekStatus.OK>, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, MAX_REASON_BYTES);
  const frame = Buffer.alloc(RESPONSE_HEADER_BYTES + text.length);
  writeResponseHeader(frame, status, text.length);
  frame.set(text, RESPONSE_HEADER_BYTES);
  return frame;
}

/** Decodes a response; a granted KEK is copied out, so the caller may zero `bytes` afterwards. */
export function decodeKekResponse(bytes: Uint8Array): Decoded<KekResponse> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkPrefix(buf);
  if (buf.length < RESPONSE_HEADER_BYTES) return { complete: false };
  const status = buf[MAGIC.length + 1] as number;
  const length = buf.readUInt16BE(MAGIC.length + 2);
  if (!STATUSES.has(status)) throw new KekProtocolError(`unknown status ${status}`);
  if (status === KekStatus.OK && length !== KEK_BYTES) throw new KekProtocolError(`a KEK of ${length} bytes`);
  if (status !== KekStatus.OK && length > MAX_REASON_BYTES) throw new KekProtocolError('reason too long');
  const end = RESPONSE_HEADER_BYTES + length;
  if (buf.length < end) return { complete: false };
  const payload = buf.subarray(RESPONSE_HEADER_BYTES, end);
  const value: KekResponse =
    status === KekStatus.OK
      ? { status, kek: new Uint8Array(payload) }
      : { status: status as KekStatus, reason: payload.toString('utf8') };
  return { complete: true, value, bytes: end };
}

/** Refuses a wrong magic or version as soon as enough bytes arrived to tell. */
function checkPrefix(buf: Buffer): void {
  const seen = Math.min(buf.length, MAGIC.length);
  if (!buf.subarray(0, seen).equals(MAGIC.subarray(0, seen))) throw new KekProtocolError('not a Custos KEK frame');
  if (buf.length > MAGIC.length && buf[MAGIC.length] !== KEK_PROTOCOL_VERSION) {
    throw new KekProtocolError(`unsupported KEK protocol version ${buf[MAGIC.length]}`);
  }
}

function writeResponseHeader(frame: Buffer, status: KekStatus, length: number): void {
  MAGIC.copy(frame, 0);
  frame[MAGIC.length] = KEK_PROTOCOL_VERSION;
  frame[MAGIC.length + 1] = status;
  frame.writeUInt16BE(length, MAGIC.length + 2);
}
