import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Stripe-style webhook signatures:
 *
 *   Switchboard-Signature: t=1700000000,v1=<hex>,v1=<hex>
 *
 * `v1` is HMAC-SHA256, keyed with the whole secret string (`whsec_…`), over
 * `${t}.${rawBody}`. Several `v1` entries let a provider sign with the old and
 * the new secret while a rotation is under way; one match is enough.
 */
export const SIGNATURE_HEADER = 'switchboard-signature';

/** Longer headers are refused unread: a provider has no reason to send more than a few signatures. */
const MAX_HEADER_LENGTH = 1024;
const MAX_SIGNATURES = 8;

export interface SignatureHeader {
  timestamp: number;
  /** The v1 signatures, decoded (32 bytes each). */
  signatures: Buffer[];
}

export type SignatureFailure =
  | { code: 'SIGNATURE_MISSING'; message: string }
  | { code: 'SIGNATURE_MALFORMED'; message: string }
  | { code: 'TIMESTAMP_OUT_OF_TOLERANCE'; message: string }
  | { code: 'SIGNATURE_MISMATCH'; message: string };

export function signPayload(secret: string, timestamp: number, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** What a provider sends; the test helper and docs use the same function. */
export function signatureHeader(secrets: readonly string[], timestamp: number, rawBody: Buffer | string): string {
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${signPayload(secret, timestamp, rawBody)}`)].join(',');
}

export function parseSignatureHeader(value: string | string[] | undefined): SignatureHeader | SignatureFailure {
  if (value === undefined || value === '') {
    return { code: 'SIGNATURE_MISSING', message: 'The Switchboard-Signature header is missing' };
  }
  const malformed: SignatureFailure = {
    code: 'SIGNATURE_MALFORMED',
    message: 'The Switchboard-Signature header must look like t=<unix seconds>,v1=<hex HMAC-SHA256>',
  };
  if (Array.isArray(value) || value.length > MAX_HEADER_LENGTH) return malformed;
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of value.split(',')) {
    const match = /^\s*([a-z0-9]+)=(\S*)\s*$/.exec(part);
    if (!match) return malformed;
    const [, key, item] = match as unknown as [string, string, string];
    if (key === 't') {
      if (timestamp !== undefined || !/^[0-9]{1,12}$/.test(item)) return malformed;
      timestamp = Number(item);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(item)) return malformed;
      signatures.push(Buffer.from(item, 'hex'));
    }
    // Other schemes (v0, a future v2) are ignored, as Stripe's clients do.
  }
  if (timestamp === undefined || signatures.length === 0 || signatures.length > MAX_SIGNATURES) return malformed;
  return { timestamp, signatures };
}

export function isSignatureFailure(value: SignatureHeader | SignatureFailure): value is SignatureFailure {
  return 'code' in value;
}

/** The replay window: a captured delivery cannot be replayed later than this (and the event id stops it sooner). */
export function checkTimestamp(timestamp: number, nowMs: number, toleranceSeconds: number): SignatureFailure | undefined {
  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) <= toleranceSeconds) return undefined;
  return {
    code: 'TIMESTAMP_OUT_OF_TOLERANCE',
    message: `The signature timestamp is more than ${toleranceSeconds} seconds away from the server's clock`,
  };
}

/** Keys no secret can equal: verifying against it costs the same as a real check, for unknown organisations. */
const DECOY_SECRET = `whsec_${randomBytes(24).toString('base64url')}`;

export const MISMATCH: SignatureFailure = {
  code: 'SIGNATURE_MISMATCH',
  message: 'No signature matches an active secret of this organisation',
};

/**
 * True when any given signature is the HMAC of the body under any active
 * secret. Every pair is compared in constant time, and with no secrets (an
 * unknown organisation) a decoy is checked, so the answer and its timing do
 * not tell an unknown organisation from a wrong secret.
 */
export function verifySignatures(header: SignatureHeader, secrets: readonly string[], rawBody: Buffer): boolean {
  let matched = false;
  for (const secret of secrets.length > 0 ? secrets : [DECOY_SECRET]) {
    const expected = Buffer.from(signPayload(secret, header.timestamp, rawBody), 'hex');
    for (const given of header.signatures) {
      // Not short-circuited: every comparison runs.
      if (timingSafeEqual(given, expected)) matched = true;
    }
  }
  return matched && secrets.length > 0;
}

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}
