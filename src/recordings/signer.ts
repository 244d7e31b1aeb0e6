import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RecordingsConfig } from '../config/config';

/**
 * Turns a call's recording object key into a short-lived URL a browser can
 * play. Signing is deliberately the only expensive thing about a recording,
 * and it runs only when `Call.recordingUrl` is selected.
 */
export interface RecordingSigner {
  sign(input: { orgId: string; key: string; expiresInSeconds: number; origin: string }): Promise<string>;
}

/** Recording keys are namespaced by organisation; a signer never signs a key outside the caller's. */
export function keyBelongsTo(orgId: string, key: string): boolean {
  return key.startsWith(`orgs/${orgId}/`) && !key.split('/').includes('..');
}

export class ForeignRecordingError extends Error {}

// ---------------------------------------------------------------- local

export function localSignature(secret: Uint8Array, key: string, expires: number): string {
  return createHmac('sha256', secret).update(`${key}\n${expires}`).digest('base64url');
}

/** HMAC-signed, expiring URLs served by this server from the recordings directory. */
export function createLocalSigner(config: Extract<RecordingsConfig, { kind: 'local' }>): RecordingSigner {
  return {
    async sign({ orgId, key, expiresInSeconds, origin }) {
      if (!keyBelongsTo(orgId, key)) throw new ForeignRecordingError('recording key outside organisation');
      const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
      const signature = localSignature(config.secret, key, expires);
      const base = config.publicBaseUrl ?? origin;
      const path = key.split('/').map(encodeURIComponent).join('/');
      return `${base}/recordings/${path}?expires=${expires}&signature=${signature}`;
    },
  };
}

export type LocalUrlCheck = { ok: true; key: string } | { ok: false; reason: 'malformed' | 'expired' | 'bad-signature' };

/** Verifies a local recording URL's path and query: signature first, then expiry. */
export function verifyLocalUrl(secret: Uint8Array, pathname: string, search: URLSearchParams, now = Date.now()): LocalUrlCheck {
  const prefix = '/recordings/';
  if (!pathname.startsWith(prefix)) return { ok: false, reason: 'malformed' };
  let key: string;
  try {
    key = pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const expires = Number(search.get('expires'));
  const signature = search.get('signature') ?? '';
  if (!/^orgs\/[1-9][0-9]*\//.test(key) || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    return { ok: false, reason: 'malformed' };
  }
  if (!Number.isSafeInteger(expires)) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(localSignature(secret, key, expires));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  if (expires * 1000 < now) return { ok: false, reason: 'expired' };
  return { ok: true, key };
}

// ---------------------------------------------------------------- S3

/** Presigned GET URLs for any S3-compatible store; credentials from the AWS default chain. */
export function createS3Signer(config: Extract<RecordingsConfig, { kind: 's3' }>): RecordingSigner {
  // Required lazily: the AWS SDK is large and the default (local) signer never needs it.
  /* eslint-disable @typescript-eslint/no-require-imports -- a synchronous lazy load; import() would make creating the signer async */
  const { S3Client, GetObjectCommand } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
  const { getSignedUrl } = require('@aws-sdk/s3-request-presigner') as typeof import('@aws-sdk/s3-request-presigner');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const s3 = new S3Client({ region: config.region, endpoint: config.endpoint, forcePathStyle: config.forcePathStyle });
  return {
    async sign({ orgId, key, expiresInSeconds }) {
      if (!keyBelongsTo(orgId, key)) throw new ForeignRecordingError('recording key outside organisation');
      return getSignedUrl(s3, new GetObjectCommand({ Bucket: config.bucket, Key: key }), { expiresIn: expiresInSeconds });
    },
  };
}

export function createRecordingSigner(config: RecordingsConfig): RecordingSigner {
  return config.kind === 's3' ? createS3Signer(config) : createLocalSigner(config);
}
