/**
 * Network reachability as seen from inside a pod: a TCP connect (or a TLS handshake that reads the
 * server's certificate) run with the pod's own `node`. Both the node and gateway images have it.
 */
import type { Kube } from './kube.ts';

export interface ConnectResult {
  connected: boolean;
  error?: string;
  /** Serial of the certificate the server presented (TLS probes only). */
  serial?: string;
}

const CONNECT_SCRIPT = `
import net from 'node:net';
const [host, port, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), timeout: Number(ms) });
s.on('connect', () => { console.log(JSON.stringify({ connected: true })); s.destroy(); });
s.on('timeout', () => { console.log(JSON.stringify({ connected: false, error: 'timeout' })); s.destroy(); });
s.on('error', (e) => console.log(JSON.stringify({ connected: false, error: e.code ?? e.message })));
`;

const TLS_SCRIPT = `
import tls from 'node:tls';
const [host, port, ms] = process.argv.slice(1);
// Only reads the certificate the server presents; the identity is checked against the Secret.
const s = tls.connect({ host, port: Number(port), timeout: Number(ms), rejectUnauthorized: false, ALPNProtocols: ['h2'] });
s.on('secureConnect', () => { console.log(JSON.stringify({ connected: true, serial: s.getPeerCertificate().serialNumber })); s.destroy(); });
s.on('timeout', () => { console.log(JSON.stringify({ connected: false, error: 'timeout' })); s.destroy(); });
s.on('error', (e) => console.log(JSON.stringify({ connected: false, error: e.code ?? e.message })));
`;

async function probe(
  kube: Kube,
  pod: { namespace: string; name: string; container?: string },
  script: string,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<ConnectResult> {
  const out = await kube.kubectl(
    [
      '-n',
      pod.namespace,
      'exec',
      pod.name,
      ...(pod.container ? ['-c', pod.container] : []),
      '--',
      'node',
      '--input-type=module',
      '-e',
      script,
      host,
      String(port),
      String(timeoutMs),
    ],
    { timeoutMs: timeoutMs + 30_000 },
  );
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no answer from the probe in ${pod.name}: ${out}`);
  return JSON.parse(line) as ConnectResult;
}

export const tcpConnect = (
  kube: Kube,
  pod: { namespace: string; name: string; container?: string },
  host: string,
  port: number,
  timeoutMs = 5_000,
): Promise<ConnectResult> => probe(kube, pod, CONNECT_SCRIPT, host, port, timeoutMs);

export const tlsServerSerial = (
  kube: Kube,
  pod: { namespace: string; name: string; container?: string },
  host: string,
  port: number,
  timeoutMs = 5_000,
): Promise<ConnectResult> => probe(kube, pod, TLS_SCRIPT, host, port, timeoutMs);
