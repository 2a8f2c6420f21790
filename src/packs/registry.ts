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
    manifestSha256: 'a28e1f1c46cf9e75ed76c150b76dcbb282d80a8d4ba49629676332ae84e7b647',
  },
  {
    id: 'tiny-random',
    label: 'Tiny random (test pack)',
    base: 'models/tiny-random/',
    shipped: true,
    testOnly: true,
    manifestSha256: 'df9b9e9ebcc3e007d756746c6137a63aa11e23c0f65f8a3b75f5a1f7782efd88',
  },
] as const;

export const DEFAULT_TEST_PACK = 'tiny-random';

/** The pack the app and the command line use when none is chosen: the first that is not test-only. */
export const DEFAULT_PACK: string = (PACKS.find((p) => !p.testOnly) ?? PACKS[0]!).id;

/**
 * Example prompts the Imagine view offers for a pack whose manifest has no `examples` (packs built before the
 * field existed). The manifest's own list wins when present.
 */
export const FALLBACK_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  shapes: [
    'draw as many red circles as 2 plus 3',
    'draw 7 minus 4 blue squares',
    'draw 3 triangles in the colour you get mixing blue and yellow',
    'draw the larger of 3 and 6 purple circles',
    'there are 9 green triangles and 4 roll away. draw the ones left',
  ],
};

export function findPack(id: string): PackEntry | undefined {
  return PACKS.find((p) => p.id === id);
}

/** The URL of a file inside a pack, `base` being the app's base URL (import.meta.env.BASE_URL in the app). */
export function packFileUrl(pack: PackEntry, path: string, base = '/'): string {
  return `${base.replace(/\/?$/, '/')}${pack.base}${path}`;
}
