import type { Role } from '../../db/schema';
import { forbidden } from '../../graphql/errors';

/**
 * Who may write what. Viewers read only; members keep the day-to-day records
 * (contacts, calls, and the appointments booked on calls); admins also
 * configure the organisation (agents and phone numbers). Checked before any
 * input is decoded or any statement runs, so a refused attempt does no work
 * and cannot be used to probe which ids exist.
 */
export type WriteArea = 'records' | 'configuration';

const ALLOWED: Record<WriteArea, readonly Role[]> = {
  records: ['admin', 'member'],
  configuration: ['admin'],
};

export function requireRole(role: Role, area: WriteArea): void {
  if (ALLOWED[area].includes(role)) return;
  throw forbidden(role === 'viewer' ? 'Viewers cannot make changes' : 'Only admins can change agents and phone numbers');
}
