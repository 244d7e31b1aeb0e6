import { badUserInput } from './errors';

/**
 * Opaque Relay global ids: base64url("Type:localId"). Clients must not parse
 * them; the server decodes them and always re-scopes the local id to the
 * caller's organisation, so a foreign id is simply "not found".
 */
export const NODE_TYPES = ['Call', 'Agent', 'Contact', 'Appointment', 'PhoneNumberAssignment', 'Organisation', 'User'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

const INT8_MAX = '9223372036854775807';

/**
 * A positive int8 in canonical decimal form: no sign, no leading zero, at most
 * PostgreSQL's int8 maximum. Anything else would be a database error (or a
 * different number) once cast to `int8`, so it never gets that far.
 */
export function isPositiveInt8(text: string): boolean {
  if (!/^[1-9][0-9]{0,18}$/.test(text)) return false;
  // Same length decimal strings without leading zeros compare like numbers.
  return text.length < INT8_MAX.length || text <= INT8_MAX;
}

export function toGlobalId(type: NodeType, localId: string): string {
  return base64urlOfAscii(`${type}:${localId}`) ?? Buffer.from(`${type}:${localId}`, 'utf8').toString('base64url');
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * base64url of an ASCII string, without padding, as Buffer's; undefined for
 * anything else. Every node of every list gets an id, and a Buffer per id cost
 * twice this (310 against 180 ns a call).
 */
function base64urlOfAscii(text: string): string | undefined {
  let out = '';
  const length = text.length;
  for (let i = 0; i < length; i += 3) {
    const a = text.charCodeAt(i);
    const b = i + 1 < length ? text.charCodeAt(i + 1) : 0;
    const c = i + 2 < length ? text.charCodeAt(i + 2) : 0;
    if ((a | b | c) > 127) return undefined;
    const bits = (a << 16) | (b << 8) | c;
    out += BASE64URL.charAt(bits >> 18) + BASE64URL.charAt((bits >> 12) & 63);
    if (i + 1 < length) out += BASE64URL.charAt((bits >> 6) & 63);
    if (i + 2 < length) out += BASE64URL.charAt(bits & 63);
  }
  return out;
}

/** Decodes any global id; undefined when it is not one of ours. */
export function parseGlobalId(globalId: string): { type: NodeType; localId: string } | undefined {
  if (globalId.length > 64 || !/^[A-Za-z0-9_-]+$/.test(globalId)) return undefined;
  const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
  const colon = decoded.indexOf(':');
  const type = decoded.slice(0, colon) as NodeType;
  const localId = decoded.slice(colon + 1);
  if (colon < 0 || !NODE_TYPES.includes(type) || !isPositiveInt8(localId)) return undefined;
  return { type, localId };
}

/**
 * The local id of a global id that must be of `type`; a malformed id or one of
 * another type is a client error (the argument name says which).
 */
export function localIdOf(type: NodeType, globalId: string, argument: string): string {
  const parsed = parseGlobalId(globalId);
  if (parsed?.type !== type) throw badUserInput(`${argument} is not a valid ${type} id`, argument);
  return parsed.localId;
}
