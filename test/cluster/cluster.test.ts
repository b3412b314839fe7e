/**
 * Smoke test of the local real cluster (hack/kube, make cluster-up): pods run from images built
 * here, cluster DNS resolves Services (and nothing else), a PVC binds on local-path, a
 * NetworkPolicy is enforced, and the real cert-manager controller issues and renews certificates.
 */
import { describe, test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { eventually } from '../kube/support/kube.ts';
import { apply, clusterSetting, ensureCluster, kubectl, kubectlJson, stopCluster } from './support/cluster.ts';

const NS = `smoke-${randomBytes(3).toString('hex')}`;
const BUSYBOX = clusterSetting('BUSYBOX_IMAGE');
const NODE_IP = clusterSetting('NODE_IP');
let startedHere = false;

type Obj = { metadata: { name: string }; spec?: Record<string, unknown>; status?: Record<string, unknown> };
type Condition = { type: string; status: string; reason?: string };
const conditions = (o: Obj) => (o.status?.conditions as Condition[] | undefined) ?? [];
const isTrue = (o: Obj, type: string) => conditions(o).some((c) => c.type === type && c.status === 'True');

/** A busybox pod that runs `script` (exits on SIGTERM, so deletion is quick). */
function pod(name: string, script: string, labels: Record<string, string> = {}, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${NS}
  labels: ${JSON.stringify({ smoke: 'true', ...labels })}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${BUSYBOX}
      imagePullPolicy: Never
      command: [sh, -c, ${JSON.stringify(`trap 'exit 0' TERM; ${script}`)}]
${extra}`;
}

const phase = async (name: string) =>
  (await kubectlJson<Obj>(['-n', NS, 'get', 'pod', name])).status?.phase as string | undefined;
const waitPhase = (name: string, want: string, ms = 120_000) =>
  eventually(`pod ${name} ${want}`, async () => (await phase(name)) === want, ms);
const exec = (name: string, ...cmd: string[]) => kubectl(['-n', NS, 'exec', name, '--', ...cmd]);

beforeAll(
  async () => {
    startedHere = await ensureCluster();
    await kubectl(['create', 'namespace', NS]);
  },
  { timeout: 60 * 60_000 },
);

afterAll(
  async () => {
    await kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=120s'], undefined, 150_000).catch((e) =>
      console.error(String(e)),
    );
    if (startedHere) await stopCluster();
  },
  { timeout: 300_000 },
);

describe('local real cluster', { timeout: 600_000 }, () => {
  test('a pod runs from a locally built image and its logs come back through the kubelet', async () => {
    await apply(pod('hello', 'echo hello-from-busybox; while true; do sleep 1; done'));
    await waitPhase('hello', 'Running');
    await eventually('log line', async () =>
      (await kubectl(['-n', NS, 'logs', 'hello'])).includes('hello-from-busybox'),
    );
    const status = (await kubectlJson<Obj>(['-n', NS, 'get', 'pod', 'hello'])).status as {
      containerStatuses: { image: string }[];
    };
    assert.equal(status.containerStatuses[0]!.image, BUSYBOX);
  });

  test('cluster DNS resolves a Service, and answers NXDOMAIN for names outside the cluster', async () => {
    await apply(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`);
    const ip = (await kubectlJson<Obj>(['-n', NS, 'get', 'service', 'web'])).spec?.clusterIP as string;
    await waitPhase('hello', 'Running');
    const out = await eventually('web resolves', async () => {
      const o = await exec('hello', 'nslookup', `web.${NS}.svc.cluster.local`);
      return o.includes(ip) ? o : undefined;
    });
    assert.match(out, new RegExp(`Address:? *${ip.replace(/\./g, '\\.')}`));
    const outside = await exec('hello', 'sh', '-c', 'nslookup example.com 2>&1; true');
    assert.match(outside, /NXDOMAIN|can't find/);
    assert.doesNotMatch(outside, /Name:\s*example\.com/);
  });

  test('a pod cannot open a connection outside the cluster, only to pods, Services and the API server', async () => {
    // A listener on the machine's own outside address: without the egress guard the pod would
    // reach it (local delivery, so nothing leaves the machine even if the guard were missing).
    const hostIp = Object.values(networkInterfaces())
      .flat()
      .find(
        (a) =>
          a &&
          a.family === 'IPv4' &&
          !a.internal &&
          !a.address.startsWith(NODE_IP.split('.').slice(0, 2).join('.') + '.'),
      )?.address;
    assert.ok(hostIp, 'the machine has an outside IPv4 address');
    let accepted = 0;
    const server: Server = createServer((sock) => {
      accepted++;
      sock.end('reached\n');
    });
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
    const port = (server.address() as { port: number }).port;
    try {
      await waitPhase('hello', 'Running');
      const probe = (target: string) =>
        exec('hello', 'sh', '-c', `echo | nc -w 3 ${target}; echo "nc-exit=$?"`).then((o) => o.trim());
      // Positive control: the API server through the kubernetes Service.
      assert.match(await probe('kubernetes.default.svc.cluster.local 443'), /nc-exit=0$/);
      assert.match(await probe(`${hostIp} ${port}`), /nc-exit=[1-9]\d*$/);
      assert.equal(accepted, 0, 'the host listener saw no connection from the pod');
      // The node address answers only the API server's port.
      assert.match(await probe(`${NODE_IP} 10250`), /nc-exit=[1-9]\d*$/);
    } finally {
      server.close();
    }
  });

  test('a PVC binds on the default local-path StorageClass and keeps what a pod wrote', async () => {
    await apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: ${NS}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
`);
    const volume = `  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]`;
    const mount = (name: string, script: string) =>
      pod(name, script).replace(
        '      command:',
        '      volumeMounts: [{name: data, mountPath: /data}]\n      command:',
      ) +
      volume +
      '\n';
    await apply(mount('writer', 'echo persisted > /data/file'));
    await waitPhase('writer', 'Succeeded', 180_000);
    const pvc = await kubectlJson<Obj>(['-n', NS, 'get', 'pvc', 'data']);
    assert.equal(pvc.status?.phase, 'Bound');
    assert.equal(pvc.spec?.storageClassName, 'local-path');
    await apply(mount('reader', 'cat /data/file'));
    await waitPhase('reader', 'Succeeded', 120_000);
    assert.equal((await kubectl(['-n', NS, 'logs', 'reader'])).trim(), 'persisted');
  });

  test('a NetworkPolicy blocks an unlabelled pod and lets a labelled one through', async () => {
    await apply(
      pod('web', 'mkdir -p /www && echo served > /www/index.html && httpd -f -p 8080 -h /www', { app: 'web' }),
    );
    await apply(pod('stranger', 'while true; do sleep 1; done'));
    await apply(pod('friend', 'while true; do sleep 1; done', { access: 'web' }));
    for (const name of ['web', 'stranger', 'friend']) await waitPhase(name, 'Running');
    // busybox's wget crashes in Debian's static build; nc speaks the HTTP request instead. The
    // shell always exits 0 and reports nc's status, so a failing kubectl exec is never mistaken
    // for a refused connection.
    const fetchFrom = async (name: string) => {
      const out = await exec(
        name,
        'sh',
        '-c',
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 web.${NS}.svc.cluster.local 80; echo "nc-exit=$?"`,
      );
      if (/\r?\n\r?\nserved\s*nc-exit=0\s*$/.test(out)) return 'served';
      if (/nc-exit=[1-9]\d*\s*$/.test(out) && !out.includes('served')) return 'refused';
      return `unexpected: ${out}`;
    };
    // Without a policy both reach the server: any refusal below is the policy's doing.
    await eventually('stranger reaches web before the policy', async () => (await fetchFrom('stranger')) === 'served');
    assert.equal(await fetchFrom('friend'), 'served');

    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: ${NS}}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {access: web}}}], ports: [{port: 8080}]}]
`);
    await eventually(
      'the policy refuses the stranger',
      async () => (await fetchFrom('stranger')) === 'refused',
      90_000,
    );
    assert.equal(await fetchFrom('friend'), 'served');
    for (let i = 0; i < 3; i++) assert.equal(await fetchFrom('stranger'), 'refused');
  });

  test('cert-manager issues a Certificate from a CA Issuer and renews it when asked', async () => {
    await apply(`apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: selfsigned, namespace: ${NS}}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: smoke-ca, namespace: ${NS}}
spec:
  isCA: true
  commonName: smoke-ca
  secretName: smoke-ca
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {name: selfsigned, kind: Issuer}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: smoke-ca, namespace: ${NS}}
spec: {ca: {secretName: smoke-ca}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: leaf, namespace: ${NS}}
spec:
  commonName: leaf.smoke.test
  dnsNames: [leaf.smoke.test]
  secretName: leaf-tls
  duration: 24h
  privateKey: {algorithm: ECDSA, size: 256, rotationPolicy: Always}
  issuerRef: {name: smoke-ca, kind: Issuer}
`);
    const cert = () => kubectlJson<Obj>(['-n', NS, 'get', 'certificate', 'leaf']);
    const leafPem = async () => {
      const s = await kubectlJson<{ data?: Record<string, string> }>(['-n', NS, 'get', 'secret', 'leaf-tls']);
      return Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString();
    };
    const first = await eventually(
      'leaf Ready and settled',
      async () => {
        const c = await cert();
        return isTrue(c, 'Ready') && !conditions(c).some((x) => x.type === 'Issuing') ? c : undefined;
      },
      180_000,
    );
    const caPem = Buffer.from(
      (await kubectlJson<{ data: Record<string, string> }>(['-n', NS, 'get', 'secret', 'smoke-ca'])).data['tls.crt']!,
      'base64',
    ).toString();
    const issued = new X509Certificate(await leafPem());
    assert.ok(issued.verify(new X509Certificate(caPem).publicKey), 'the leaf is signed by the CA Issuer');
    assert.match(issued.subjectAltName ?? '', /leaf\.smoke\.test/);

    // What `cmctl renew` does: set the Issuing condition on the status.
    const conds = [
      ...conditions(first).filter((c) => c.type !== 'Issuing'),
      {
        type: 'Issuing',
        status: 'True',
        reason: 'ManuallyTriggered',
        message: 'renewal forced by the smoke test',
        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    ];
    await kubectl([
      '-n',
      NS,
      'patch',
      'certificate',
      'leaf',
      '--subresource',
      'status',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ status: { conditions: conds } }),
    ]);
    const revision = first.status?.revision as number;
    await eventually(
      'renewed leaf Ready',
      async () => {
        const c = await cert();
        if ((c.status?.revision as number) > revision && isTrue(c, 'Ready') && !isTrue(c, 'Issuing')) return true;
        throw new Error(`status ${JSON.stringify(c.status)}`);
      },
      180_000,
    );
    const renewed = new X509Certificate(await leafPem());
    assert.notEqual(renewed.serialNumber, issued.serialNumber);
    assert.ok(renewed.verify(new X509Certificate(caPem).publicKey));
  });
});
