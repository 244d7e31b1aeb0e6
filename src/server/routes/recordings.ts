import { stat } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { verifyLocalUrl } from '../../recordings/signer';
import { errorBody, sendError, type HttpErrorCode } from '../errors';
import { refuseOtherMethods } from './methods';

const CONTENT_TYPES: Record<string, string> = { '.wav': 'audio/wav', '.mp3': 'audio/mpeg', '.ogg': 'audio/ogg' };

/**
 * GET /recordings/<key>?expires&signature: the locally stored recordings
 * behind the URLs `createLocalSigner` makes (RECORDINGS_STORE=local). The
 * HMAC covers the object key (which names the organisation) and the expiry,
 * so a URL can neither be extended nor pointed at another tenant's file.
 * Bytes, HEAD, Range (206/416) and conditional requests are @fastify/static's.
 */
export async function recordingRoutes(fastify: FastifyInstance, options: { dir: string; secret: Uint8Array }): Promise<void> {
  const root = path.resolve(options.dir);
  // Only reply.sendFile: no route of its own, so nothing is served unsigned.
  await fastify.register(fastifyStatic, { root, serve: false });
  // @fastify/send reports an unsatisfiable range or failed precondition as an error; it is the client's.
  fastify.setErrorHandler((error, _request, reply) => {
    const { status, headers } = error as { status?: unknown; headers?: Record<string, string> };
    const code: HttpErrorCode | undefined = status === 416 ? 'RANGE_NOT_SATISFIABLE' : status === 412 ? 'PRECONDITION_FAILED' : undefined;
    if (!code) throw error;
    const message =
      code === 'RANGE_NOT_SATISFIABLE' ? 'The range is outside the recording' : "The recording does not meet the request's precondition";
    const contentRange = headers?.['Content-Range'];
    return sendError(reply, status as number, errorBody(code, message), contentRange ? { 'content-range': contentRange } : {});
  });

  fastify.get('/recordings/*', async (request, reply) => {
    // Parsed as the URL standard does: dot segments (even %2e%2e) are resolved before the signature is checked.
    const url = new URL(request.url, 'http://localhost');
    const check = verifyLocalUrl(options.secret, url.pathname, url.searchParams);
    if (!check.ok) {
      if (check.reason === 'expired') return sendError(reply, 403, errorBody('RECORDING_URL_EXPIRED', 'recording URL has expired'));
      return sendError(reply, 403, errorBody('RECORDING_URL_INVALID', 'recording URL is not valid'));
    }
    const file = path.resolve(root, check.key);
    if (!file.startsWith(root + path.sep)) return sendError(reply, 403, errorBody('RECORDING_URL_INVALID', 'recording URL is not valid'));
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return sendError(reply, 404, errorBody('RECORDING_NOT_FOUND', 'recording not found'));

    const expires = Number(url.searchParams.get('expires'));
    const maxAge = Math.max(0, expires - Math.floor(Date.now() / 1000));
    reply.headers({
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      // The URL stops working at `expires`; no cache may keep the bytes longer.
      'cache-control': `private, max-age=${maxAge}`,
    });
    return reply.sendFile(path.relative(root, file), root, { cacheControl: false, dotfiles: 'allow' });
  });
  refuseOtherMethods(fastify, '/recordings/*', ['GET', 'HEAD']);
}
