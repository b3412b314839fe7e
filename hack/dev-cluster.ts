/**
 * `make run`: a local cluster of four TSS nodes and a gateway on loopback, on embedded defaults
 * (SQLite metadata, dev PKI, password files, a dev access key), with prefixed logs. Ctrl-C stops it.
 * State lives in CUSTOS_HOME (default ./.custos), so a second run finds the keys of the first.
 */
import { resolve } from 'node:path';
import { otpauthUri } from '../gateway/console/totp.ts';
import { startLocalCluster } from '../test/support/local-cluster.ts';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<string, string> = { gateway: '36', tss1: '32', tss2: '33', tss3: '35', tss4: '34' };

/** One readable line from a pino JSON line (other lines pass through). */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, pid: _pid, hostname: _host, name: _name, node: _node, ...rest } = entry;
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const when = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  return `${when} ${LEVELS[level as number] ?? level} ${msg ?? ''}${extra ? `  ${extra}` : ''}`;
}

const home = resolve(process.env.CUSTOS_HOME ?? './.custos');
const gatewayPort = Number(process.env.CUSTOS_GATEWAY_PORT ?? 8080);
const consolePort = Number(process.env.CUSTOS_CONSOLE_PORT ?? 8880);
const nodeBasePort = Number(process.env.CUSTOS_NODE_BASE_PORT ?? 9001);
const tty = process.stdout.isTTY;

/** Set when the gateway reports it created the console user: only then are its secrets printed. */
let consoleUserCreated = false;
const CONSOLE_USER_CREATED =
  /"created":true.*"msg":"bootstrap console user provisioned"|"msg":"bootstrap console user provisioned".*"created":true/;

console.log(`==> starting 4 TSS nodes and the gateway (CUSTOS_HOME=${home})`);
const cluster = await startLocalCluster({
  home,
  gatewayPort,
  consolePort,
  nodeBasePort,
  onLog: (source, line) => {
    if (source === 'gateway' && CONSOLE_USER_CREATED.test(line)) consoleUserCreated = true;
    const tag = tty ? `\x1b[${COLORS[source] ?? '37'}m[${source.padEnd(7)}]\x1b[0m` : `[${source.padEnd(7)}]`;
    console.log(`${tag} ${formatLogLine(line)}`);
  },
});

// The console user's password and TOTP secret are printed once, when created; credentials.json keeps them (dev only).
const firstConsoleUser = consoleUserCreated
  ? `
  New console user (shown this once; also in credentials.json):
    user:         ${cluster.console_user}
    password:     ${cluster.console_password}
    TOTP secret:  ${cluster.console_totp_secret}
    TOTP URI:     ${otpauthUri('Custos', cluster.console_user ?? 'admin', cluster.console_totp_secret ?? '')}
`
  : '';
console.log(`
Custos is running.
  API:          ${cluster.baseUrl}/api/v1   (OpenAPI: ${cluster.baseUrl}/api/v1/openapi.json)
  Readiness:    ${cluster.baseUrl}/ready
  Console:      ${cluster.consoleUrl}   (user ${cluster.console_user}; password and TOTP secret in credentials.json)
  Credentials:  ${home}/credentials.json
${firstConsoleUser}
Try, in another terminal:
  CUSTOS_HOME=${home} npx custos keys generate --algo EDDSA
  CUSTOS_HOME=${home} npx custos keys sign <key_id> --type RAW --data 0x68656c6c6f
  CUSTOS_HOME=${home} npx custos keys generate          # GG18 (secp256k1): EVM, Bitcoin and TRON addresses
  CUSTOS_HOME=${home} npx custos keys sign <key_id> --type EIP191 --encoding utf8 --data "hello"

Press Ctrl-C to stop.
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\n==> stopping');
  await cluster.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
