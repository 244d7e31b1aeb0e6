import { LocalProvider } from '../src/provider/local/server';

/**
 * The local provider as a process of its own, for bench:provider: the
 * measured server then shares no event loop with the provider it calls.
 * Prints its URL on the first line; faults and stats go through its
 * `/__control/` endpoints. Stops on SIGTERM.
 */
const provider = new LocalProvider();
provider.listen(Number(process.argv[2] ?? 0)).then(
  (url) => process.stdout.write(`${url}\n`),
  (error: unknown) => {
    process.stderr.write(`local provider: ${String(error)}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => void provider.close().then(() => process.exit(0)));
