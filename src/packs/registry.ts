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
  /**
   * sha256 of manifest.json, pinned so a tampered manifest is refused and a manifest cached by an older version of
   * the app is replaced (PackStore.current). Every shipped pack is pinned; tests/unit/packs/manifest.test.ts fails
   * when a regenerated pack's manifest no longer matches its pin.
   */
  manifestSha256?: string;
}

export const PACKS: readonly PackEntry[] = [
  {
    id: 'shapes',
    label: 'Shapes (trained miniature)',
    base: 'models/shapes/',
    shipped: true,
    testOnly: false,
    manifestSha256: '3c6ce28e6a1e278164ccd108637cc88a1c9f526bbda48ec3f0fbbff0d0e22367',
  },
  {
    id: 'tiny-random',
    label: 'Tiny random (test pack)',
    base: 'models/tiny-random/',
    shipped: true,
    testOnly: true,
    manifestSha256: 'fa202f0e29066715a5770557eb1ad5a90352a3f22eb98d5d915aabd89bd92b1d',
  },
] as const;

export const DEFAULT_TEST_PACK = 'tiny-random';

/** The pack the app and the command line use when none is chosen: the first that is not test-only. */
export const DEFAULT_PACK: string = (PACKS.find((p) => !p.testOnly) ?? PACKS[0]!).id;

export function findPack(id: string): PackEntry | undefined {
  return PACKS.find((p) => p.id === id);
}

/** The URL of a file inside a pack, `base` being the app's base URL (import.meta.env.BASE_URL in the app). */
export function packFileUrl(pack: PackEntry, path: string, base = '/'): string {
  return `${base.replace(/\/?$/, '/')}${pack.base}${path}`;
}
