/**
 * The gateway's MPC coordinator: one gRPC/mTLS client per TSS node, a cached view of their
 * health, and sessions driven over the star relay (docs/architecture.md). The relay only routes
 * envelopes; it cannot read or forge them (the nodes check that), and it checks cheaply what it
 * can: that a node only speaks in its own name and only to participants.
 */
import * as grpc from '@grpc/grpc-js';
import { X509Certificate, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { devTlsPaths, ReloadingTls } from '../../common/pki/tls-files.ts';
import { identityOfCertificate, peerMismatch } from '../../common/pki/identity.ts';
import { judgeAccusation } from '../../common/abort/evidence.ts';
import { keygenTranscriptId, SignPolicySchema } from '../../common/authz/client-keys.ts';
import { certificatePublicKey } from '../../common/envelope/envelope.ts';
import { ProtocolAbort, type PartyId, type ThresholdScheme } from '../../common/protocols/types.ts';
import {
  TssNodeClient,
  type Envelope,
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
  type SessionResult,
  type SessionStart,
  type SnapshotChunk,
} from '../../common/rpc/tss-service.ts';
import type { NodeBackup } from '../../common/backup/node-file.ts';
import {
  MpcSessionError,
  type KeygenRequest,
  type KeygenResult,
  type MpcCoordinator,
  type HolderVersions,
  type NodeHealth,
  type ShareDestruction,
  type RefreshRequest,
  type RefreshResult,
  type NodeSnapshots,
  type SignRequest,
} from './types.ts';

export interface NodeEndpoint {
  readonly id: string;
  readonly address: string;
}

/** One envelope on its way to one participant. */
export interface Delivery {
  readonly to: PartyId;
  readonly envelope: Envelope;
}

/** Lets fault-injection tests play a malicious relay: rewrites, drops or adds deliveries at will. */
export type RelayInterceptor = (deliveries: Delivery[], from: PartyId) => Delivery[];

/** Where an envelope sent by `from` goes; a node may only speak in its own name, to participants. */
export function routeEnvelope(env: Envelope, from: PartyId, parties: readonly PartyId[]): Delivery[] {
  if (env.from !== from) throw new MpcSessionError(`${from} sent a message in the name of ${env.from}`, from);
  const targets = env.to === '' ? parties.filter((p) => p !== from) : [env.to];
  for (const to of targets) {
    if (!parties.includes(to) || to === from) throw new MpcSessionError(`${from} addressed a message to ${to}`, from);
  }
  return targets.map((to) => ({ to, envelope: env }));
}

export interface CoordinatorOptions {
  readonly home: string;
  /** The gateway's TLS files (default: certs/ under `home`), reloaded when they change. */
  readonly tls?: ReloadingTls;
  /** How often the default TLS files are checked for a renewed certificate (default 5 s). */
  readonly tlsReloadMs?: number;
  readonly nodes: readonly NodeEndpoint[];
  readonly logger: Logger;
  readonly schemes: ReadonlyMap<string, ThresholdScheme>;
  /** Whole-session deadlines. Keygen may wait for a node to generate GG18 safe primes. */
  readonly keygenTimeoutMs?: number;
  readonly signTimeoutMs?: number;
  /** How long a node waits for one round's messages (defaults: keygen 90 s, sign 15 s). */
  readonly roundTimeoutMs?: number;
  readonly healthTtlMs?: number;
  readonly relayInterceptor?: RelayInterceptor;
  /** Called when a node becomes reachable and unsealed, or stops being so. */
  readonly onNodeEvent?: (nodeId: string, event: 'NODE_START' | 'NODE_STOP') => void;
}

type Client = grpc.Client & {
  Health(req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: HealthResponse) => void): void;
  Session(opts?: grpc.CallOptions): grpc.ClientDuplexStream<SessionFrame, NodeFrame>;
  ClearAbortCount(
    req: ClearAbortCountRequest,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res: ClearAbortCountResponse) => void,
  ): void;
  DestroyShare(
    req: DestroyShareRequest,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res: DestroyShareResponse) => void,
  ): void;
  FinishShareVersion(
    req: FinishShareVersionRequest,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res: FinishShareVersionResponse) => void,
  ): void;
  ChangeSignPolicy(
    req: PolicyChangeRequest,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res: PolicyChangeResponse) => void,
  ): void;
  Snapshot(req: object, opts: grpc.CallOptions): grpc.ClientReadableStream<SnapshotChunk>;
};

interface NodeView {
  readonly endpoint: NodeEndpoint;
  readonly client: Client;
  health: NodeHealth;
}

const unreachable = (nodeId: string): NodeHealth => ({
  nodeId,
  reachable: false,
  sealed: true,
  shareCount: 0,
  version: '',
  latencyMs: Number.POSITIVE_INFINITY,
});

export function createGrpcCoordinator(opts: CoordinatorOptions): MpcCoordinator & NodeSnapshots {
  const ownsTls = !opts.tls;
  const log = opts.logger;
  const tls =
    opts.tls ??
    new ReloadingTls(devTlsPaths(opts.home, 'gateway'), {
      intervalMs: opts.tlsReloadMs,
      onError: (err) => log.warn({ err: err.message }, 'TLS files changed but were refused; keeping the previous ones'),
    }).start();
  // Nodes must belong to the cluster our own certificate names (same namespace and KmsCluster).
  let trust = {
    ca: new X509Certificate(tls.current.ca),
    own: identityOfCertificate(tls.current.cert.toString('utf8')),
  };
  tls.onChange((m) => {
    try {
      trust = { ca: new X509Certificate(m.ca), own: identityOfCertificate(m.cert.toString('utf8')) };
      log.info({ notAfter: new X509Certificate(m.cert).validTo }, 'TLS certificate reloaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'renewed certificate refused');
    }
  });
  const healthTtl = opts.healthTtlMs ?? 1000;

  const views = new Map<string, NodeView>();
  for (const endpoint of opts.nodes) {
    // New connections take the current certificate and CA; established ones keep theirs.
    const credentials = grpc.experimental.createCertificateProviderChannelCredentials(tls, tls, {
      // Trust is the CA plus the node id in the certificate, not the address we dialled.
      checkServerIdentity: (_host, cert) => {
        try {
          const mismatch = peerMismatch(trust.own, identityOfCertificate(cert.raw), { kind: 'node', id: endpoint.id });
          return mismatch ? new Error(mismatch) : undefined;
        } catch (e) {
          return e as Error;
        }
      },
    });
    const client = new TssNodeClient(endpoint.address, credentials, {
      // SNI names the node (its certificate has the node id as a DNS SAN), never an IP address.
      'grpc.ssl_target_name_override': endpoint.id,
      'grpc.default_authority': endpoint.id,
      'grpc.max_receive_message_length': 8 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    }) as unknown as Client;
    views.set(endpoint.id, { endpoint, client, health: unreachable(endpoint.id) });
  }

  const roundTimeoutMs = (kind: SessionStart['kind']) => opts.roundTimeoutMs ?? (kind === 'SIGN' ? 15_000 : 90_000);

  let lastRefresh = 0;
  let refreshing: Promise<void> | undefined;

  function probe(view: NodeView): Promise<void> {
    const started = performance.now();
    return new Promise((resolve) => {
      view.client.Health({}, { deadline: Date.now() + 2000 }, (err, res) => {
        const before = view.health;
        if (err || res.node_id !== view.endpoint.id || !validNodeCertificate(res.certificate, view.endpoint.id)) {
          view.health = unreachable(view.endpoint.id);
        } else {
          view.health = {
            nodeId: view.endpoint.id,
            reachable: true,
            sealed: res.sealed,
            shareCount: res.share_count,
            version: res.version,
            latencyMs: performance.now() - started,
            preParamsReady: res.gg18_preparams_ready,
            activeSessions: res.active_sessions,
          };
        }
        const wasUp = before.reachable && !before.sealed;
        const isUp = view.health.reachable && !view.health.sealed;
        if (wasUp !== isUp) opts.onNodeEvent?.(view.endpoint.id, isUp ? 'NODE_START' : 'NODE_STOP');
        resolve();
      });
    });
  }

  function validNodeCertificate(der: Buffer, nodeId: string): boolean {
    try {
      const cert = new X509Certificate(der);
      const { ca, own } = trust;
      const mismatch = peerMismatch(own, identityOfCertificate(cert.raw), { kind: 'node', id: nodeId });
      return cert.checkIssued(ca) && cert.verify(ca.publicKey) && mismatch === undefined;
    } catch {
      return false;
    }
  }

  async function refresh(force = false): Promise<void> {
    if (!force && performance.now() - lastRefresh < healthTtl) return;
    refreshing ??= Promise.all([...views.values()].map(probe)).then(() => {
      lastRefresh = performance.now();
      refreshing = undefined;
    });
    await refreshing;
  }

  function markDown(nodeId: string): void {
    const view = views.get(nodeId);
    if (view && view.health.reachable) {
      view.health = unreachable(nodeId);
      opts.onNodeEvent?.(nodeId, 'NODE_STOP');
      lastRefresh = 0;
    }
  }

  async function runSession(
    start: Omit<SessionStart, 'peer_certificates' | 'round_timeout_ms' | 'deadline_ms'>,
    timeoutMs: number,
    twoPhase: boolean,
  ): Promise<Map<string, SessionResult>> {
    for (const p of start.parties) {
      if (!views.has(p)) throw new MpcSessionError(`unknown node ${p}`, p, 'unavailable');
    }
    // Each participant's certificate as it announced it on this session's stream (checked here and
    // again by every peer): the key that signs its envelopes, even if it was renewed a moment ago.
    const certs: Record<string, Buffer> = {};
    const deadlineMs = Date.now() + timeoutMs;
    const participants = new Set(start.parties);
    const streams = new Map<string, grpc.ClientDuplexStream<SessionFrame, NodeFrame>>();
    const results = new Map<string, SessionResult>();
    const committed = new Set<string>();
    const session = { id: start.session_id, parties: [...start.parties] };
    let settled = false;

    return new Promise<Map<string, SessionResult>>((resolve, reject) => {
      const finish = (err?: MpcSessionError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const s of streams.values()) {
          if (err) s.cancel();
          else s.end();
        }
        if (err)
          reject(err.session ? err : new MpcSessionError(err.message, err.culprit, err.kind, err.attribution, session));
        else resolve(results);
      };
      const timer = setTimeout(() => {
        const waiting = start.parties.filter((p) =>
          twoPhase && results.size === participants.size ? !committed.has(p) : !results.has(p),
        );
        finish(
          new MpcSessionError(
            `session timed out waiting for ${waiting.join(', ')}`,
            waiting.length === 1 ? waiting[0] : undefined,
            'timeout',
          ),
        );
      }, timeoutMs);

      const relay = (env: Envelope, from: string) => {
        let deliveries: Delivery[];
        try {
          deliveries = routeEnvelope(env, from, start.parties);
        } catch (e) {
          return finish(e as MpcSessionError);
        }
        if (opts.relayInterceptor) deliveries = opts.relayInterceptor(deliveries, from);
        for (const d of deliveries) streams.get(d.to)?.write({ frame: 'envelope', envelope: d.envelope });
      };

      // Starts the session once every participant has announced a valid certificate.
      const announced = (nodeId: string, der: Buffer) => {
        if (certs[nodeId]) {
          return finish(new MpcSessionError(`${nodeId} announced two certificates`, nodeId, 'unavailable'));
        }
        if (!validNodeCertificate(der, nodeId)) {
          return finish(
            new MpcSessionError(
              `${nodeId} announced a certificate that is not its own from our CA`,
              nodeId,
              'unavailable',
            ),
          );
        }
        certs[nodeId] = der;
        if (Object.keys(certs).length < participants.size) return;
        for (const [id, stream] of streams) {
          const peers: Record<string, Buffer> = {};
          for (const p of start.parties) if (p !== id) peers[p] = certs[p]!;
          stream.write({
            frame: 'start',
            start: {
              ...start,
              round_timeout_ms: roundTimeoutMs(start.kind),
              peer_certificates: peers,
              deadline_ms: deadlineMs,
            },
          });
        }
      };

      for (const nodeId of start.parties) {
        const view = views.get(nodeId)!;
        const stream = view.client.Session();
        streams.set(nodeId, stream);
        stream.on('data', (frame: NodeFrame) => {
          if (settled) return;
          switch (frame.frame) {
            case 'certificate':
              return announced(nodeId, Buffer.from(frame.certificate.certificate));
            case 'envelope':
              return relay(frame.envelope, nodeId);
            case 'result':
              if (results.has(nodeId)) return finish(new MpcSessionError(`${nodeId} sent two results`, nodeId));
              results.set(nodeId, frame.result);
              if (results.size === participants.size) {
                if (!twoPhase) return finish();
                const disagreement = disagreeingNode(results);
                if (disagreement)
                  return finish(new MpcSessionError(`keygen results disagree (${disagreement})`, disagreement));
                for (const s of streams.values()) s.write({ frame: 'commit', commit: {} });
              }
              return;
            case 'committed':
              committed.add(nodeId);
              if (committed.size === participants.size) finish();
              return;
            case 'error': {
              const { code, message, culprit, evidence } = frame.error;
              const kind =
                code === 'TIMEOUT'
                  ? 'timeout'
                  : code === 'SEALED' || code === 'UNKNOWN_KEY' || code === 'STALE_SHARE'
                    ? 'unavailable'
                    : code === 'UNAUTHORIZED'
                      ? 'unauthorized'
                      : code === 'ABORT_LIMIT'
                        ? 'locked'
                        : 'abort';
              if (kind !== 'abort') {
                return finish(
                  new MpcSessionError(`${nodeId}: ${message}`, kind === 'unavailable' ? nodeId : undefined, kind),
                );
              }
              // A named culprit counts only with evidence the gateway checks itself.
              const judgement = culprit
                ? judge(start, certs, nodeId, evidence)
                : ({ outcome: 'unattributed', reason: 'no culprit named' } as const);
              return finish(
                new MpcSessionError(
                  `${nodeId}: ${message}${judgement.outcome === 'guilty' ? '' : ` [${judgement.reason}]`}`,
                  judgement.outcome === 'guilty' ? judgement.culprit : undefined,
                  'abort',
                  judgement.outcome === 'guilty'
                    ? { outcome: 'guilty', node: judgement.culprit }
                    : judgement.outcome === 'refuted'
                      ? { outcome: 'refuted', node: judgement.falseAccuser }
                      : { outcome: 'unattributed' },
                  session,
                ),
              );
            }
          }
        });
        stream.on('error', (err: grpc.ServiceError) => {
          if (settled) return;
          if (err.code === grpc.status.UNAVAILABLE) markDown(nodeId);
          finish(
            new MpcSessionError(`${nodeId} dropped the session: ${err.details || err.message}`, nodeId, 'unavailable'),
          );
        });
        stream.on('end', () => {
          if (!settled) finish(new MpcSessionError(`${nodeId} ended the session early`, nodeId, 'unavailable'));
        });
      }
    });
  }

  /** Checks an accusation's evidence as any holder could: signed envelopes, the revealed secret, then the protocol's own checks. */
  function judge(
    start: Omit<SessionStart, 'peer_certificates' | 'round_timeout_ms' | 'deadline_ms'>,
    certs: Record<string, Buffer>,
    reporter: string,
    evidence: Uint8Array,
  ) {
    let parsed: unknown;
    try {
      parsed = evidence.length > 0 ? JSON.parse(Buffer.from(evidence).toString('utf8')) : undefined;
    } catch {
      parsed = undefined;
    }
    const policy =
      start.sign_policy.length > 0
        ? SignPolicySchema.safeParse(JSON.parse(start.sign_policy.toString('utf8')))
        : undefined;
    const judgement = judgeAccusation({
      evidence: parsed,
      sessionId: start.session_id,
      kind: start.kind,
      ctx: {
        sessionId: start.kind === 'KEYGEN' ? keygenTranscriptId(start.session_id, policy?.data) : start.session_id,
        keyId: start.key_id,
        self: '',
        parties: start.parties,
        holders: start.holders,
        threshold: start.threshold,
      },
      scheme: opts.schemes.get(start.algo)!,
      certificateKey: (id) => (certs[id] ? certificatePublicKey(certs[id]!) : undefined),
    });
    // Evidence in someone else's name is the reporter's own lie.
    if (parsed && typeof parsed === 'object' && (parsed as { accuser?: unknown }).accuser !== reporter) {
      return { outcome: 'refuted', falseAccuser: reporter, reason: 'evidence names another accuser' } as const;
    }
    if (judgement.outcome === 'refuted' && judgement.falseAccuser !== reporter) {
      return { outcome: 'refuted', falseAccuser: reporter, reason: judgement.reason } as const;
    }
    return judgement;
  }

  const coordinator: MpcCoordinator & NodeSnapshots = {
    async health() {
      await refresh();
      return [...views.values()].map((v) => v.health);
    },

    async keygen(req: KeygenRequest): Promise<KeygenResult> {
      const results = await runSession(
        {
          session_id: newSessionId(),
          kind: 'KEYGEN',
          algo: req.algo,
          key_id: req.keyId,
          parties: [...req.holders],
          holders: [...req.holders],
          threshold: req.threshold,
          message: Buffer.alloc(0),
          sign_policy: req.signPolicy ? Buffer.from(JSON.stringify(req.signPolicy)) : Buffer.alloc(0),
          authorization: Buffer.alloc(0),
        },
        opts.keygenTimeoutMs ?? 170_000,
        true,
      );
      const first = results.values().next().value!;
      return { publicKey: Uint8Array.from(first.public_key), publicInfo: Uint8Array.from(first.public_info) };
    },

    async sign(req: SignRequest): Promise<Uint8Array> {
      const scheme = opts.schemes.get(req.algo);
      if (!scheme) throw new MpcSessionError(`algorithm ${req.algo} is not served`, undefined, 'unavailable');
      const results = await runSession(
        {
          session_id: newSessionId(),
          kind: 'SIGN',
          algo: req.algo,
          key_id: req.keyId,
          parties: [...req.signers],
          holders: [...req.holders],
          threshold: req.threshold,
          message: Buffer.from(req.message),
          sign_policy: Buffer.alloc(0),
          authorization: req.authorization ? Buffer.from(JSON.stringify(req.authorization)) : Buffer.alloc(0),
          share_version: req.shareVersion ?? 0,
        },
        opts.signTimeoutMs ?? 30_000,
        false,
      );
      const outputs = new Map([...results].map(([id, r]) => [id, Uint8Array.from(r.output)]));
      try {
        return scheme.combine(outputs, req.publicInfo, req.publicKey, req.message, {
          holders: req.holders,
          threshold: req.threshold,
        });
      } catch (e) {
        // The gateway's own check of a signer's output against public data: proven without a node's word.
        if (e instanceof ProtocolAbort) {
          throw new MpcSessionError(e.message, e.culprit, 'abort', undefined, {
            id: 'combine',
            parties: [...req.signers],
          });
        }
        throw e;
      }
    },

    async refresh(req: RefreshRequest): Promise<RefreshResult> {
      const results = await runSession(
        {
          session_id: newSessionId(),
          kind: 'REFRESH',
          algo: req.algo,
          key_id: req.keyId,
          parties: [...req.holders],
          holders: [...req.holders],
          threshold: req.threshold,
          message: Buffer.alloc(0),
          sign_policy: Buffer.alloc(0),
          authorization: Buffer.alloc(0),
          share_version: req.shareVersion,
        },
        opts.keygenTimeoutMs ?? 170_000,
        true,
      );
      const first = results.values().next().value!;
      const versions = new Set([...results.values()].map((r) => stagedVersionOf(r.output)));
      const stagedVersion = [...versions][0]!;
      if (versions.size !== 1 || stagedVersion !== req.shareVersion + 1) {
        throw new MpcSessionError(
          `holders staged versions ${[...versions].join(', ')}, expected ${req.shareVersion + 1}`,
        );
      }
      return {
        publicKey: Uint8Array.from(first.public_key),
        publicInfo: Uint8Array.from(first.public_info),
        stagedVersion,
      };
    },

    finishShareVersion(node, keyId, version, activate): Promise<HolderVersions> {
      return new Promise((resolve, reject) => {
        const view = views.get(node);
        if (!view) return reject(new MpcSessionError(`unknown node ${node}`, node, 'unavailable'));
        view.client.FinishShareVersion(
          { key_id: keyId, version, activate },
          { deadline: Date.now() + 10_000 },
          (err, res) =>
            err
              ? reject(
                  new MpcSessionError(
                    `${node}: ${err.details || err.message}`,
                    node,
                    err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED
                      ? 'unavailable'
                      : 'abort',
                  ),
                )
              : resolve({ active: res.active_version, staged: res.staged_version }),
        );
      });
    },

    async changeSignPolicy(holders, change) {
      const request: PolicyChangeRequest = { change: Buffer.from(JSON.stringify(change)) };
      const answers = await Promise.allSettled(
        holders.map(
          (id) =>
            new Promise<PolicyChangeResponse>((resolve, reject) => {
              const view = views.get(id);
              if (!view) return reject(new MpcSessionError(`unknown node ${id}`, id, 'unavailable'));
              view.client.ChangeSignPolicy(request, { deadline: Date.now() + 10_000 }, (err, res) =>
                err
                  ? reject(
                      new MpcSessionError(
                        `${id}: ${err.details || err.message}`,
                        undefined,
                        err.code === grpc.status.PERMISSION_DENIED ? 'unauthorized' : 'unavailable',
                      ),
                    )
                  : resolve(res),
              );
            }),
        ),
      );
      const refused = answers.find((a) => a.status === 'rejected');
      if (refused) throw refused.reason;
      const hashes = new Set(
        answers.map((a) => (a as PromiseFulfilledResult<PolicyChangeResponse>).value.policy_sha256),
      );
      if (hashes.size !== 1) throw new MpcSessionError('holders answered different policies', undefined, 'abort');
      return [...hashes][0]!;
    },

    async clearAbortCount(holders, keyId) {
      const cleared: Record<string, number> = {};
      await Promise.all(
        holders.map(
          (id) =>
            new Promise<void>((resolve, reject) => {
              const view = views.get(id);
              if (!view) return reject(new MpcSessionError(`unknown node ${id}`, id, 'unavailable'));
              view.client.ClearAbortCount({ key_id: keyId }, { deadline: Date.now() + 10_000 }, (err, res) => {
                if (err) return reject(new MpcSessionError(`${id}: ${err.details || err.message}`, id, 'unavailable'));
                cleared[id] = res.cleared;
                resolve();
              });
            }),
        ),
      );
      return cleared;
    },

    async destroyShares(holders, keyId) {
      return Promise.all(
        holders.map(
          (id) =>
            new Promise<ShareDestruction>((resolve) => {
              const view = views.get(id);
              if (!view) return resolve({ nodeId: id, confirmed: false, error: `unknown node ${id}` });
              view.client.DestroyShare({ key_id: keyId }, { deadline: Date.now() + 10_000 }, (err, res) => {
                if (err) return resolve({ nodeId: id, confirmed: false, error: err.details || err.message });
                if (res.node_id !== id || res.key_id !== keyId) {
                  return resolve({ nodeId: id, confirmed: false, error: `answered for ${res.node_id}/${res.key_id}` });
                }
                resolve({ nodeId: id, confirmed: true, hadShare: res.had_share, destroyedAtMs: res.destroyed_at_ms });
              });
            }),
        ),
      );
    },

    snapshot(nodeId) {
      const view = views.get(nodeId);
      if (!view) return Promise.reject(new MpcSessionError(`unknown node ${nodeId}`, nodeId, 'unavailable'));
      return new Promise<NodeBackup>((resolve, reject) => {
        const chunks: SnapshotChunk[] = [];
        const call = view.client.Snapshot({}, { deadline: Date.now() + 120_000 });
        call.on('data', (chunk: SnapshotChunk) => chunks.push(chunk));
        call.on('error', (err: grpc.ServiceError) =>
          reject(new MpcSessionError(`${nodeId}: ${err.details || err.message}`, nodeId, 'unavailable')),
        );
        call.on('end', () => {
          try {
            resolve(nodeBackupOf(nodeId, chunks));
          } catch (e) {
            reject(e as Error);
          }
        });
      });
    },

    async close() {
      if (ownsTls) tls.stop();
      for (const v of views.values()) v.client.close();
    },
  };
  log.debug({ nodes: opts.nodes.map((n) => n.id) }, 'coordinator ready');
  return coordinator;
}

/** Joins a node's snapshot chunks; the first one carries the header and must name the node asked. */
export function nodeBackupOf(nodeId: string, chunks: readonly SnapshotChunk[]): NodeBackup {
  const head = chunks[0];
  if (!head || head.node_id !== nodeId || head.wrapped_dek.length === 0 || head.anchor.length === 0) {
    throw new MpcSessionError(`${nodeId} sent an incomplete snapshot`, nodeId, 'unavailable');
  }
  return {
    nodeId,
    wrappedDek: Uint8Array.from(head.wrapped_dek),
    anchor: Uint8Array.from(head.anchor),
    shareVersions: new Map(Object.entries(head.share_versions)),
    entries: chunks.flatMap((c) => c.entries.map((e) => [e.key, Uint8Array.from(e.value)] as const)),
  };
}

function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

/** The share version a refresh result reports (u32, big-endian); 0 when malformed. */
function stagedVersionOf(output: Uint8Array): number {
  return output.length === 4 ? new DataView(output.buffer, output.byteOffset, 4).getUint32(0) : 0;
}

/** The first node whose keygen result differs from the majority's, if any. */
export function disagreeingNode(results: ReadonlyMap<string, SessionResult>): string | undefined {
  const fingerprint = (r: SessionResult) =>
    Buffer.concat([Buffer.from(r.public_key), Buffer.from([0]), Buffer.from(r.public_info)]).toString('hex');
  const counts = new Map<string, number>();
  for (const r of results.values()) counts.set(fingerprint(r), (counts.get(fingerprint(r)) ?? 0) + 1);
  if (counts.size <= 1) return undefined;
  const majority = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  for (const [id, r] of results) if (fingerprint(r) !== majority) return id;
  return undefined;
}
