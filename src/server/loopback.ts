import { isIPv4 } from 'node:net';

/**
 * True when a TCP peer address is this machine's loopback: 127.0.0.0/8, ::1,
 * or an IPv4-mapped 127.x (::ffff:127.0.0.1, how a dual-stack socket reports
 * an IPv4 loopback peer). Decides who may see development secrets, so it is
 * given the socket's own address, never a header: X-Forwarded-For is written
 * by the client (or a proxy that would itself be the loopback peer). Unknown
 * (undefined: a Unix socket, a destroyed connection) is not loopback.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const v4 = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : lower;
  return isIPv4(v4) && v4.split('.')[0] === '127';
}
