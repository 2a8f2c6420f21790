// The command line's view of a pack (CliPackInfo: defaults and limits through resolvePackDefaults, as the studio
// reads them) and the check of settings against it before any run.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/args.mjs';
import { checkLimits } from '../../../src/cli/session.mjs';
import type { CliPackInfo } from '../../../src/cli/page';
import { resolvePackDefaults } from '../../../src/packs/defaults';
import { parseManifest } from '../../../src/packs/manifest';

const path = fileURLToPath(new URL('../../../public/models/shapes/manifest.json', import.meta.url));
const manifest = parseManifest(JSON.parse(readFileSync(path, 'utf8')));
const { defaults, limits } = resolvePackDefaults(manifest);
const pack: CliPackInfo = { id: 'shapes', label: 'Shapes', testOnly: false, manifestSha256: null, defaults, limits };

describe('checkLimits on the resolved limits of the shapes pack', () => {
  it("accepts the pack's own defaults and the edges of its ranges", () => {
    const ok = (s: Parameters<typeof checkLimits>[0]) => expect(() => checkLimits(s, pack, '--')).not.toThrow();
    ok({ width: defaults.width, height: defaults.height, steps: defaults.steps, maxNewTokens: defaults.maxNewTokens });
    ok({ width: manifest.limits.min_size, height: manifest.limits.max_size, steps: manifest.limits.max_steps });
    ok({ maxNewTokens: manifest.reasoner.max_position_embeddings });
  });

  it('refuses each setting outside the pack, naming the flag and the range', () => {
    const refused = (s: Parameters<typeof checkLimits>[0]) => {
      try {
        checkLimits(s, pack, '--');
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    const l = manifest.limits;
    expect(refused({ width: l.max_size + l.size_multiple })).toBe(
      `--width must be a multiple of ${l.size_multiple} from ${l.min_size} to ${l.max_size} for pack shapes, ` +
        `got ${l.max_size + l.size_multiple}`,
    );
    expect(refused({ height: l.min_size + 1 })).toMatch(/^--height must be a multiple of/);
    expect(refused({ steps: l.max_steps + 1 })).toBe(
      `--steps must be at most ${l.max_steps} for pack shapes, got ${l.max_steps + 1}`,
    );
    const ctx = manifest.reasoner.max_position_embeddings;
    expect(refused({ maxNewTokens: ctx + 1 })).toBe(
      `--max-new-tokens must be at most ${ctx} for pack shapes, got ${ctx + 1}`,
    );
  });

  it('checks nothing when the manifest could not be read (the pipeline checks again)', () => {
    expect(() => checkLimits({ steps: 10_000 }, { ...pack, limits: null }, '--')).not.toThrow();
  });
});
