/**
 * @file The packs this build ships (under public/models/, served from our own origin), and the packs the user added
 * from a URL (src/store/added_packs.ts keeps that list in IndexedDB and hands it here with `setAddedPacks`). Both
 * are described by the same manifest format; an added pack's `base` is an absolute http(s) URL.
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
  /** An added pack: the folder URL it was added from (its `base`); absent for shipped packs. */
  addedFrom?: string;
}

export const PACKS: readonly PackEntry[] = [
  {
    id: 'shapes',
    label: 'Shapes (trained miniature)',
    base: 'models/shapes/',
    shipped: true,
    testOnly: false,
    manifestSha256: 'e225ce7ae103b4c0ab412d6b5f6cdcfd218dbbc6416e1fe9ceabe3fc40c6c511',
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

let added: readonly PackEntry[] = [];

/** Replaces the list of packs added from a URL (this context's copy; the store owns the list). */
export function setAddedPacks(list: readonly PackEntry[]): void {
  added = list.filter((p) => p.addedFrom !== undefined && !PACKS.some((s) => s.id === p.id));
}

/** The shipped packs, then the packs added from a URL. */
export function allPacks(): readonly PackEntry[] {
  return [...PACKS, ...added];
}

export function findPack(id: string): PackEntry | undefined {
  return allPacks().find((p) => p.id === id);
}

/**
 * The URL of a file inside a pack, `base` being the app's base URL (import.meta.env.BASE_URL in the app); an added
 * pack's absolute base is used as it is.
 */
export function packFileUrl(pack: PackEntry, path: string, base = '/'): string {
  if (/^https?:\/\//.test(pack.base)) return `${pack.base}${path}`;
  return `${base.replace(/\/?$/, '/')}${pack.base}${path}`;
}
