/**
 * @file The packs this build ships (under public/models/, served from our own origin). Real packs the user
 * downloads later are described by the same manifest format; they are added here with a `url` base instead.
 */

export interface PackEntry {
  /** The manifest `id`. */
  id: string;
  /** Shown in the pack picker. */
  label: string;
  /** Base URL of the pack folder (relative to the app's base), ending in '/'; manifest.json lives there. */
  base: string;
  /** Shipped with the app (never downloaded from elsewhere). */
  shipped: boolean;
  /** For tests only (random weights): hidden from visitors unless asked for. */
  testOnly: boolean;
  /** sha256 of manifest.json, pinned so a tampered or stale manifest is refused before anything else loads. */
  manifestSha256?: string;
}

export const PACKS: readonly PackEntry[] = [
  {
    id: 'tiny-random',
    label: 'Tiny random (test pack)',
    base: 'models/tiny-random/',
    shipped: true,
    testOnly: true,
  },
] as const;

export const DEFAULT_TEST_PACK = 'tiny-random';

export function findPack(id: string): PackEntry | undefined {
  return PACKS.find((p) => p.id === id);
}

/** The URL of a file inside a pack, `base` being the app's base URL (import.meta.env.BASE_URL in the app). */
export function packFileUrl(pack: PackEntry, path: string, base = '/'): string {
  return `${base.replace(/\/?$/, '/')}${pack.base}${path}`;
}
