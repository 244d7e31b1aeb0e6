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

/** A loopback port nothing listens on right now (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
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
