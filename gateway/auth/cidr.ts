/** Source-address allow-lists: IPv4 and IPv6 CIDRs (or bare addresses), via node's BlockList. */
import { BlockList, isIP } from 'node:net';
import { CidrSchema } from '../../common/api/schemas.ts';

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is matched as `10.0.0.1`. */
function normalise(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip;
}

/**
 * Builds a matcher; throws on an entry that is not an address or CIDR. The syntax is CidrSchema's
 * (decimal prefix of at most 32 or 128 digits' worth, one slash), so `10.0.0.0/` or `10.0.0.0/8/9`
 * can never widen to /0.
 */
export function cidrMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const entry of cidrs) {
    if (!CidrSchema.safeParse(entry).success) throw new Error(`not an IP address or CIDR: ${entry}`);
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    list.addSubnet(addr, bits === undefined ? (family === 4 ? 32 : 128) : Number(bits), type);
  }
  return (ip) => {
    const addr = normalise(ip);
    const family = isIP(addr);
    return family !== 0 && list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** An empty allow-list admits every address. */
export function ipAllowed(cidrs: readonly string[], ip: string): boolean {
  return cidrs.length === 0 || cidrMatcher(cidrs)(ip);
}
