import { Writable } from 'node:stream';
import { createLogger } from '../src/logger';
import { lazyChildLogger } from '../src/server/requestLogger';

/** The app's logger writing into an array, with a count of the children made from it. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof logger.child>) => (children++, child(...args))) as typeof logger.child;
  return { logger, lines, children: () => children };
}

describe("a request's logger", () => {
  it('is made only when something logs through it', () => {
    const { logger, children } = recordingLogger();
    lazyChildLogger(logger, { requestId: 'r-1' }, {});
    expect(children()).toBe(0);
  });

  it('logs with the request id and redacts credentials, as a child of the app logger does', async () => {
    const { logger, lines, children } = recordingLogger();
    const log = lazyChildLogger(logger, { requestId: 'r-2' }, {});
    log.warn({ authorization: 'Bearer secret' }, 'export stopped');
    log.error('twice');
    await new Promise((resolve) => setImmediate(resolve));
    expect(children()).toBe(1);
    expect(lines).toEqual([
      expect.objectContaining({ requestId: 'r-2', authorization: '[redacted]', msg: 'export stopped', level: 40 }),
      expect.objectContaining({ requestId: 'r-2', msg: 'twice', level: 50 }),
    ]);
    expect(log.level).toBe('info');
  });
});
