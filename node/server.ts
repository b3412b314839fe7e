/**
 * The TSS node's gRPC server: mTLS with client certificates from the cluster CA, sessions only
 * from the gateway's identity, and one MpcSession per Session stream.
 */
import * as grpc from '@grpc/grpc-js';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { envelopeKeysFrom, type EnvelopeKeys } from '../common/envelope/envelope.ts';
import { identityOfCertificate, peerMismatch, type ClusterScope } from '../common/pki/identity.ts';
import type { ReloadingTls, TlsMaterial } from '../common/pki/tls-files.ts';
import type { ThresholdScheme } from '../common/protocols/types.ts';
import {
  tssNodeService,
  type HealthResponse,
  type NodeFrame,
  type ClearAbortCountRequest,
  type ClearAbortCountResponse,
  type DestroyShareRequest,
  type DestroyShareResponse,
  type FinishShareVersionRequest,
  type FinishShareVersionResponse,
  type PolicyChangeRequest,
  type PolicyChangeResponse,
  type SessionFrame,
  type SnapshotChunk,
  type SnapshotRequest,
} from '../common/rpc/tss-service.ts';
import { GATEWAY_TRUSTED_POLICY, PolicyChangeSchema, policyHash } from '../common/authz/client-keys.ts';
import { AuthorizationError, checkPolicyChange, NonceReplayCache } from './authz/client-authorization.ts';
import { UnattributedAbortLimit, type SecretStore } from './aborts/abort-limit.ts';
import type { SeenSessions } from './session/seen-sessions.ts';
import type { StoreSnapshot } from './storage/share-store.ts';
import { MpcSession, type ShareAccess } from './session/session.ts';

export const NODE_VERSION = '0.1.0';

/** What the server reads from the node's current state; `shares` is undefined while sealed. */
export interface NodeState {
  readonly nodeId: string;
  shares():
    | (ShareAccess &
        SecretStore &
        ShareVersions & {
          count(): Promise<number>;
          destroy(keyId: string): Promise<{ hadShare: boolean; destroyedAtMs: number }>;
          snapshot(): Promise<StoreSnapshot>;
        })
    | undefined;
  /** The node's wrapped DEK file as on disk (for backups). */
  wrappedDek(): Promise<Uint8Array>;
  /** Unattributed sign aborts per key after which the node refuses that key until cleared. */
  readonly abortLimit: number;
  /** Session ids already used; undefined while sealed. */
  seenSessions(): SeenSessions | undefined;
  readonly schemes: ReadonlyMap<string, ThresholdScheme>;
  /** GG18 pre-params ready now. */
  preParamsReady(): number;
}

/** Phase two of a refresh at this node (node/storage/share-store.ts). */
export interface ShareVersions {
  activate(keyId: string, version: number): Promise<'activated' | 'already-active'>;
  discard(keyId: string, version: number): Promise<boolean>;
  activeVersion(keyId: string): number | undefined;
  stagedVersion(keyId: string): number | undefined;
}

/** Verifies a peer node certificate: issued by our CA, currently valid, naming `nodeId` of our cluster. */
export function makePeerVerifier(caPem: Buffer, own: ClusterScope): (nodeId: string, der: Uint8Array) => KeyObject {
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
    const mismatch = peerMismatch(own, identityOfCertificate(der), { kind: 'node', id: nodeId });
    if (mismatch) throw new Error(`certificate refused: ${mismatch}`);
    return entry.publicKey;
  };
}

function peerIdentity(
  call:
    | grpc.ServerDuplexStream<unknown, unknown>
    | grpc.ServerUnaryCall<unknown, unknown>
    | grpc.ServerWritableStream<unknown, unknown>,
) {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (!cert?.raw) return undefined;
  try {
    return identityOfCertificate(cert.raw);
  } catch {
    return undefined;
  }
}

/** Splits entries into chunks of at most ~1 MiB of values (gRPC messages stay far under the 4 MiB default). */
export function snapshotChunks(
  entries: ReadonlyArray<readonly [string, Uint8Array]>,
  maxBytes = 1 << 20,
): Array<Array<{ key: string; value: Buffer }>> {
  const chunks: Array<Array<{ key: string; value: Buffer }>> = [];
  let current: Array<{ key: string; value: Buffer }> = [];
  let size = 0;
  for (const [key, value] of entries) {
    if (current.length > 0 && size + value.length + key.length > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push({ key, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) });
    size += value.length + key.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Our own identity from our certificate; it must name this node. */
export function ownIdentity(nodeId: string, certPem: Buffer): ClusterScope {
  const own = identityOfCertificate(certPem.toString('utf8'));
  if (own.kind !== 'node' || own.id !== nodeId) {
    throw new Error(`this node's certificate names ${own.kind} ${own.id}, not node ${nodeId}`);
  }
  return own;
}

/** What a session needs from this node's TLS material; rebuilt when the files are renewed. */
interface NodeIdentity {
  readonly certificate: X509Certificate;
  readonly keys: EnvelopeKeys;
  readonly own: ClusterScope;
  readonly verifyPeer: (nodeId: string, der: Uint8Array) => KeyObject;
}

function nodeIdentity(nodeId: string, tls: TlsMaterial): NodeIdentity {
  const own = ownIdentity(nodeId, tls.cert);
  return {
    certificate: new X509Certificate(tls.cert),
    keys: envelopeKeysFrom(nodeId, createPrivateKey(tls.key)),
    own,
    verifyPeer: makePeerVerifier(tls.ca, own),
  };
}

/**
 * `tls` reloads when its files change (a renewed certificate): new handshakes and new sessions use
 * the new certificate and key, running sessions finish with the ones they started with.
 */
export function createNodeServer(state: NodeState, tls: ReloadingTls, log: Logger) {
  let current = nodeIdentity(state.nodeId, tls.current);
  tls.onChange((material) => {
    try {
      current = nodeIdentity(state.nodeId, material);
      log.info({ notAfter: current.certificate.validTo }, 'TLS certificate reloaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'renewed certificate refused; keeping the previous one');
    }
  });
  const live = new Set<MpcSession>();
  const clientNonces = new NonceReplayCache();
  const aborts = new UnattributedAbortLimit(() => state.shares(), state.abortLimit);
  const startedAtMs = Date.now();

  const health: grpc.handleUnaryCall<unknown, HealthResponse> = (call, callback) => {
    const shares = state.shares();
    const respond = (count: number) =>
      callback(null, {
        node_id: state.nodeId,
        sealed: shares === undefined,
        share_count: count,
        version: NODE_VERSION,
        algorithms: [...state.schemes.keys()],
        certificate: current.certificate.raw,
        gg18_preparams_ready: state.preParamsReady(),
        active_sessions: live.size,
      });
    if (!shares) return respond(0);
    shares.count().then(respond, () => callback({ code: grpc.status.UNAVAILABLE, details: 'share store unavailable' }));
    void call;
  };

  const session: grpc.handleBidiStreamingCall<SessionFrame, NodeFrame> = (call) => {
    // This stream keeps the identity it opened with, even if the files are renewed meanwhile.
    const { certificate, keys, verifyPeer, own } = current;
    const identity = peerIdentity(call);
    const refused = identity ? peerMismatch(own, identity, { kind: 'gateway' }) : 'no Custos identity';
    if (refused) {
      log.warn({ peer: call.getPeer(), refused }, 'refused a session from a client that is not our gateway');
      call.emit('error', {
        code: grpc.status.PERMISSION_DENIED,
        details: "only this cluster's gateway may open sessions",
      });
      return;
    }
    // Announced first: the gateway hands exactly this certificate to the peers that verify our envelopes.
    call.write({ frame: 'certificate', certificate: { certificate: certificate.raw } });
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
          send({
            frame: 'error',
            error: {
              code: 'BAD_START',
              message: 'the first frame must be start',
              culprit: '',
              evidence: new Uint8Array(),
            },
          });
          return call.end();
        }
        if (!shares || !seen) {
          send({
            frame: 'error',
            error: { code: 'SEALED', message: `${state.nodeId} is sealed`, culprit: '', evidence: new Uint8Array() },
          });
          return call.end();
        }
        mpc = new MpcSession({
          keys,
          verifyPeer,
          schemes: state.schemes,
          shares,
          send,
          log: log.child({ session: frame.start.session_id }),
          clientNonces,
          startedAtMs,
          aborts,
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

  const changeSignPolicy: grpc.handleUnaryCall<PolicyChangeRequest, PolicyChangeResponse> = (call, callback) => {
    const refuse = (code: grpc.status, details: string) => {
      log.warn({ reason: details }, 'refused a sign-policy change');
      callback({ code, details });
    };
    if (peerIdentity(call)?.kind !== 'gateway')
      return refuse(grpc.status.PERMISSION_DENIED, 'only the gateway may call');
    const shares = state.shares();
    if (!shares) return refuse(grpc.status.UNAVAILABLE, `${state.nodeId} is sealed`);
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(call.request.change).toString('utf8'));
    } catch {
      return refuse(grpc.status.INVALID_ARGUMENT, 'policy change is not JSON');
    }
    const parsed = PolicyChangeSchema.safeParse(json);
    if (!parsed.success) return refuse(grpc.status.INVALID_ARGUMENT, 'policy change is malformed');
    const change = parsed.data;
    void (async () => {
      const record = await shares.get(change.key_id);
      if (!record) return refuse(grpc.status.NOT_FOUND, `${state.nodeId} holds no share of ${change.key_id}`);
      try {
        const current = record.signPolicy ?? GATEWAY_TRUSTED_POLICY;
        // A retry after some holders already applied it: same policy, nothing to do.
        if (policyHash(current) !== policyHash(change.policy)) {
          checkPolicyChange(current, change);
          await shares.put({ ...record, signPolicy: change.policy });
          log.info({ key: change.key_id, version: change.policy.version }, 'sign policy changed');
        }
        callback(null, { version: change.policy.version, policy_sha256: policyHash(change.policy) });
      } catch (e) {
        if (e instanceof AuthorizationError) return refuse(grpc.status.PERMISSION_DENIED, e.message);
        refuse(grpc.status.INTERNAL, 'could not store the policy');
      } finally {
        record.secretShare.fill(0);
      }
    })().catch(() => refuse(grpc.status.INTERNAL, 'share store unavailable'));
  };

  const clearAbortCount: grpc.handleUnaryCall<ClearAbortCountRequest, ClearAbortCountResponse> = (call, callback) => {
    if (peerIdentity(call)?.kind !== 'gateway') {
      return callback({ code: grpc.status.PERMISSION_DENIED, details: 'only the gateway may call' });
    }
    const keyId = call.request.key_id;
    if (!/^key_[0-9a-f]{32}$/.test(keyId))
      return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'invalid key id' });
    aborts.clear(keyId).then(
      (cleared) => {
        log.warn({ key: keyId, cleared }, 'unattributed abort count cleared');
        callback(null, { cleared });
      },
      (e: unknown) => callback({ code: grpc.status.UNAVAILABLE, details: (e as Error).message }),
    );
  };

  // Authenticated like ChangeSignPolicy: only the gateway's certificate may call.
  const destroyShare: grpc.handleUnaryCall<DestroyShareRequest, DestroyShareResponse> = (call, callback) => {
    if (peerIdentity(call)?.kind !== 'gateway') {
      return callback({ code: grpc.status.PERMISSION_DENIED, details: 'only the gateway may call' });
    }
    const keyId = call.request.key_id;
    if (!/^key_[0-9a-f]{32}$/.test(keyId))
      return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'invalid key id' });
    const shares = state.shares();
    if (!shares) return callback({ code: grpc.status.UNAVAILABLE, details: `${state.nodeId} is sealed` });
    shares.destroy(keyId).then(
      ({ hadShare, destroyedAtMs }) => {
        log.warn({ key: keyId, hadShare }, 'key destroyed: share erased, tombstone kept');
        callback(null, { key_id: keyId, node_id: state.nodeId, had_share: hadShare, destroyed_at_ms: destroyedAtMs });
      },
      (e: unknown) => callback({ code: grpc.status.UNAVAILABLE, details: (e as Error).message }),
    );
  };

  const finishShareVersion: grpc.handleUnaryCall<FinishShareVersionRequest, FinishShareVersionResponse> = (
    call,
    callback,
  ) => {
    if (peerIdentity(call)?.kind !== 'gateway') {
      return callback({ code: grpc.status.PERMISSION_DENIED, details: 'only the gateway may call' });
    }
    const { key_id: keyId, version, activate } = call.request;
    if (!/^key_[0-9a-f]{32}$/.test(keyId) || !(version > 1)) {
      return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'invalid key id or share version' });
    }
    const shares = state.shares();
    if (!shares) return callback({ code: grpc.status.UNAVAILABLE, details: `${state.nodeId} is sealed` });
    const step = activate ? shares.activate(keyId, version) : shares.discard(keyId, version);
    step.then(
      (outcome) => {
        if (outcome === 'activated') log.info({ key: keyId, version }, 'refreshed share in use; old version erased');
        else if (outcome === true) log.warn({ key: keyId, version }, 'staged share version discarded');
        callback(null, {
          active_version: shares.activeVersion(keyId) ?? 0,
          staged_version: shares.stagedVersion(keyId) ?? 0,
        });
      },
      (e: unknown) =>
        callback({
          code:
            activate && shares.activeVersion(keyId) !== undefined
              ? grpc.status.FAILED_PRECONDITION
              : grpc.status.NOT_FOUND,
          details: (e as Error).message,
        }),
    );
  };

  const snapshot: grpc.handleServerStreamingCall<SnapshotRequest, SnapshotChunk> = (call) => {
    const fail = (code: grpc.status, details: string) => {
      log.warn({ reason: details }, 'refused a snapshot');
      call.emit('error', { code, details });
    };
    if (peerIdentity(call)?.kind !== 'gateway') return fail(grpc.status.PERMISSION_DENIED, 'only the gateway may call');
    const shares = state.shares();
    if (!shares) return fail(grpc.status.UNAVAILABLE, `${state.nodeId} is sealed`);
    void (async () => {
      const [snap, wrappedDek] = await Promise.all([shares.snapshot(), state.wrappedDek()]);
      const chunks = snapshotChunks(snap.entries);
      call.write({
        node_id: state.nodeId,
        wrapped_dek: Buffer.from(wrappedDek),
        anchor: Buffer.from(snap.anchor),
        entries: chunks[0] ?? [],
        share_versions: Object.fromEntries(snap.shareVersions),
      });
      for (const entries of chunks.slice(1)) {
        call.write({ node_id: '', wrapped_dek: Buffer.alloc(0), anchor: Buffer.alloc(0), entries, share_versions: {} });
      }
      log.info({ entries: snap.entries.length, shares: snap.shareVersions.size }, 'snapshot sent');
      call.end();
    })().catch((e: unknown) => fail(grpc.status.INTERNAL, `snapshot failed: ${(e as Error).message}`));
  };

  const server = new grpc.Server({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
  server.addService(tssNodeService, {
    Health: health,
    Session: session,
    ChangeSignPolicy: changeSignPolicy,
    ClearAbortCount: clearAbortCount,
    DestroyShare: destroyShare,
    FinishShareVersion: finishShareVersion,
    Snapshot: snapshot,
  });
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(tls, tls, true);

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
