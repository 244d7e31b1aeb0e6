import type { TrustedDocumentsConfig } from '../config/protection';
import { loadManifest } from './manifest';
import type { PersistedSettings } from './resolve';

/** Reads the manifest once, at start; a missing or malformed one stops the start rather than trusting nothing. */
export async function loadPersistedSettings(config: TrustedDocumentsConfig): Promise<PersistedSettings> {
  if (config.mode === 'off') return { mode: 'off', documents: undefined };
  if (!config.manifestPath) throw new Error(`Trusted documents mode "${config.mode}" needs a manifest (TRUSTED_DOCUMENTS_MANIFEST)`);
  return { mode: config.mode, documents: await loadManifest(config.manifestPath) };
}
