import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { verifyLocalUrl } from '../recordings/signer';
import { sendJson } from './respond';

const CONTENT_TYPES: Record<string, string> = { '.wav': 'audio/wav', '.mp3': 'audio/mpeg', '.ogg': 'audio/ogg' };

/**
 * Serves locally stored recordings behind the URLs `createLocalSigner` makes.
 * The HMAC covers the object key (which names the organisation) and the
 * expiry, so a URL can neither be extended nor pointed at another tenant's file.
 */
export async function serveRecording(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: { dir: string; secret: Uint8Array },
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    return;
  }
  const check = verifyLocalUrl(options.secret, url.pathname, url.searchParams);
  if (!check.ok) {
    sendJson(res, 403, { error: check.reason === 'expired' ? 'recording URL has expired' : 'recording URL is not valid' });
    return;
  }
  const root = path.resolve(options.dir);
  const file = path.resolve(root, check.key);
  if (!file.startsWith(root + path.sep)) {
    sendJson(res, 403, { error: 'recording URL is not valid' });
    return;
  }
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    sendJson(res, 404, { error: 'recording not found' });
    return;
  }
  const expires = Number(url.searchParams.get('expires'));
  const maxAge = Math.max(0, expires - Math.floor(Date.now() / 1000));
  const headers = {
    'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': `private, max-age=${maxAge}`,
    'accept-ranges': 'bytes',
  };
  const range = parseRange(req.headers.range, info.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${info.size}` });
    res.end();
    return;
  }
  if (range) {
    res.writeHead(206, { ...headers, 'content-length': range.end - range.start + 1, 'content-range': `bytes ${range.start}-${range.end}/${info.size}` });
  } else {
    res.writeHead(200, { ...headers, 'content-length': info.size });
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file, range ?? {}).pipe(res);
}

/** A single `bytes=a-b` range (what audio elements send to seek); multi-range is served whole. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const start = match[1] === '' ? Math.max(0, size - Number(match[2])) : Number(match[1]);
  const end = match[1] === '' || match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}
