import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Small waiting helpers for specs that poll real servers: every wait is bounded. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * A loopback port nothing listens on right now, chosen below the kernel's
 * ephemeral range. A port from that range (the kernel's own pick, or a random
 * one in it) can be taken at any moment as the local end of some outgoing
 * connection, and then a server started on it fails with "Address already in
 * use": CI saw it for a PostgreSQL started on a random 52xxx port, and a spec
 * that stops and starts a server on the same port is exposed for as long as it
 * is down. Below the range only another listener can take it.
 */
export async function freePort(): Promise<number> {
  const lowest = 20_000;
  const ceiling = ephemeralRangeStart();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = lowest + Math.floor(Math.random() * (ceiling - lowest));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${lowest} and ${ceiling}`);
}

/** Linux's net.ipv4.ip_local_port_range starts at 32768 unless an operator changed it. */
function ephemeralRangeStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > 21_000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Whether something accepts connections on the loopback port right now. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until `what` listens on the loopback port. `exited`, when given, is
 * asked between attempts: a child process that died fails at once, not at the timeout.
 */
export function waitForPort(what: string, port: number, timeoutMs: number, exited?: () => boolean): Promise<void> {
  return waitFor(
    `${what} to listen on ${port}`,
    async () => {
      if (await portOpen(port)) return true;
      if (exited?.()) throw new Error(`${what} exited`);
      return false;
    },
    timeoutMs,
  );
}
