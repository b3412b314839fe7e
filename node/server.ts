/**
 * The TSS node's gRPC server: mTLS with client certificates from the cluster CA, sessions only
 * from the gateway's identity, and one MpcSession per Session stream.
 */
import * as grpc from '@grpc/grpc-js';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { envelopeKeysFrom, type EnvelopeKeys } from '../common/envelope/envelope.ts';
import { identityOfCertificate } from '../common/pki/identity.ts';
import type { ThresholdScheme } from '../common/protocols/types.ts';
import { tssNodeService, type HealthResponse, type NodeFrame, type SessionFrame } from '../common/rpc/tss-service.ts';
import type { SeenSessions } from './session/seen-sessions.ts';
import { MpcSession, type ShareAccess } from './session/session.ts';

export const NODE_VERSION = '0.1.0';

export interface NodeTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** What the server reads from the node's current state; `shares` is undefined while sealed. */
export interface NodeState {
  readonly nodeId: string;
  shares(): (ShareAccess & { count(): Promise<number> }) | undefined;
  /** Session ids already used; undefined while sealed. */
  seenSessions(): SeenSessions | undefined;
  readonly schemes: ReadonlyMap<string, ThresholdScheme>;
  /** GG18 pre-params ready now. */
  preParamsReady(): number;
}

/** Verifies a peer node certificate: issued by our CA, currently valid, naming `nodeId`. */
export function makePeerVerifier(caPem: Buffer): (nodeId: string, der: Uint8Array) => KeyObject {
  const ca = new X509Certificate(caPem);
  // Certificates whose CA signature already verified; validity dates are checked on every use.
  const verified = new Map<string, { cert: X509Certificate; publicKey: KeyObject }>();
  return (nodeId, der) => {
    const key = Buffer.from(der).toString('base64');
    let entry = verified.get(key);
    if (!entry) {
      const cert = new X509Certificate(Buffer.from(der));
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new Error('not issued by the cluster CA');
      entry = { cert, publicKey: cert.publicKey };
      if (verified.size >= 64) verified.clear();
      verified.set(key, entry);
    }
    const now = Date.now();
    if (now < Date.parse(entry.cert.validFrom) || now > Date.parse(entry.cert.validTo)) {
      throw new Error('certificate expired or not yet valid');
    }
    const identity = identityOfCertificate(der);
    if (identity.kind !== 'node' || identity.id !== nodeId) {
      throw new Error(`certificate names ${identity.id}, not ${nodeId}`);
    }
    return entry.publicKey;
  };
}

function peerIdentity(call: grpc.ServerDuplexStream<unknown, unknown> | grpc.ServerUnaryCall<unknown, unknown>) {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (!cert?.raw) return undefined;
  try {
    return identityOfCertificate(cert.raw);
  } catch {
    return undefined;
  }
}

export function createNodeServer(state: NodeState, tls: NodeTls, log: Logger) {
  const certificate = new X509Certificate(tls.cert);
  const keys: EnvelopeKeys = envelopeKeysFrom(state.nodeId, createPrivateKey(tls.key));
  const verifyPeer = makePeerVerifier(tls.ca);
  const live = new Set<MpcSession>();

  const health: grpc.handleUnaryCall<unknown, HealthResponse> = (call, callback) => {
    const shares = state.shares();
    const respond = (count: number) =>
      callback(null, {
        node_id: state.nodeId,
        sealed: shares === undefined,
        share_count: count,
        version: NODE_VERSION,
        algorithms: [...state.schemes.keys()],
        certificate: certificate.raw,
        gg18_preparams_ready: state.preParamsReady(),
      });
    if (!shares) return respond(0);
    shares.count().then(respond, () => callback({ code: grpc.status.UNAVAILABLE, details: 'share store unavailable' }));
    void call;
  };

  const session: grpc.handleBidiStreamingCall<SessionFrame, NodeFrame> = (call) => {
    const identity = peerIdentity(call);
    if (identity?.kind !== 'gateway') {
      log.warn({ peer: call.getPeer() }, 'refused a session from a client that is not the gateway');
      call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'only the gateway may open sessions' });
      return;
    }
    const shares = state.shares();
    const seen = state.seenSessions();
    let mpc: MpcSession | undefined;
    const send = (frame: NodeFrame) => {
      if (!call.writableEnded) call.write(frame);
      if (frame.frame === 'error' || frame.frame === 'committed' || (frame.frame === 'result' && mpc?.done)) {
        if (mpc) live.delete(mpc);
      }
    };
    call.on('data', (frame: SessionFrame) => {
      if (!mpc) {
        if (frame.frame !== 'start') {
          send({ frame: 'error', error: { code: 'BAD_START', message: 'the first frame must be start', culprit: '' } });
          return call.end();
        }
        if (!shares || !seen) {
          send({ frame: 'error', error: { code: 'SEALED', message: `${state.nodeId} is sealed`, culprit: '' } });
          return call.end();
        }
        mpc = new MpcSession({
          keys,
          verifyPeer,
          schemes: state.schemes,
          shares,
          send,
          log: log.child({ session: frame.start.session_id }),
          claimSession: (id, deadlineMs) => seen.claim(id, deadlineMs),
        });
        live.add(mpc);
        void mpc.begin(frame.start);
      } else {
        void mpc.handle(frame);
      }
    });
    call.on('end', () => {
      mpc?.cancel();
      if (mpc) live.delete(mpc);
      call.end();
    });
    call.on('cancelled', () => {
      mpc?.cancel();
      if (mpc) live.delete(mpc);
    });
    call.on('error', () => mpc?.cancel());
  };

  const server = new grpc.Server({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
  server.addService(tssNodeService, { Health: health, Session: session });
  const credentials = grpc.ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true);

  return {
    listen(address: string): Promise<number> {
      return new Promise((resolve, reject) =>
        server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))),
      );
    },
    close(): Promise<void> {
      for (const s of live) s.cancel();
      return new Promise((resolve) => server.tryShutdown(() => resolve()));
    },
    forceClose(): void {
      server.forceShutdown();
    },
  };
}
