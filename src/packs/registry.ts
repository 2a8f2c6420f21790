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
    manifestSha256: 'cf5dc585041525bffd954bd0460416280136e8506f903b30bbc379e3901d529a',
  },
  {
    id: 'tiny-random',
    label: 'Tiny random (test pack)',
    base: 'models/tiny-random/',
    shipped: true,
    testOnly: true,
    manifestSha256: '7fb4d1d51171f188207bb57937df11163663411678518befc3f11ba843d21f0b',
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
