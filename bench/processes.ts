import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/**
 * The server processes a bench starts: a port to give each, and the wait
 * until one answers /health/live. Shared by bench/run.ts and bench/provider.ts.
 */

/** A port nothing listens on right now, so a run never collides with a dev server. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once `child`, listening on `port`, answers /health/live; fails if it exits or takes over a minute. */
export async function untilLive(child: ChildProcess, port: number, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what} did not become live`);
    const live = await fetch(`http://127.0.0.1:${port}/health/live`).then(
      (response) => response.ok,
      () => false,
    );
    if (live) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
