// Every shipped pack: each manifest entry's size and sha256 match the file, nothing unlisted sits in the folder,
// and every config parses into the TypeScript types the runtime uses (and agrees with the manifest).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_FILE_SCHEMAS,
  ManifestSchema,
  crossCheck,
  parseManifest,
  packPaths,
  parseWith,
  reasonerWeightPaths,
  requireVision,
  type LlavaConfig,
  type Manifest,
} from '../../../src/packs/manifest';
import { planInputOf, planMemory } from '../../../src/packs/plan';
import { DEFAULT_PACK, DEFAULT_TEST_PACK, PACKS, findPack, packFileUrl } from '../../../src/packs/registry';
import { RgError } from '../../../src/errors';

const PUBLIC = fileURLToPath(new URL('../../../public/', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

describe.each(PACKS.filter((p) => p.shipped))('pack $id', (pack) => {
  const dir = join(PUBLIC, pack.base);
  const manifest: Manifest = parseManifest(readJson(join(dir, 'manifest.json')));

  it('manifest id matches the registry', () => {
    expect(manifest.id).toBe(pack.id);
    // Every shipped pack is pinned: a regenerated pack needs its new sha256 in src/packs/registry.ts.
    const sha = createHash('sha256')
      .update(readFileSync(join(dir, 'manifest.json')))
      .digest('hex');
    expect(pack.manifestSha256, `registry pin of ${pack.id}`).toBe(sha);
  });

  it('every listed file has the listed size and sha256', () => {
    for (const f of manifest.files) {
      const bytes = readFileSync(join(dir, f.path));
      expect(bytes.length, f.path).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
    }
  });

  it('lists every file in the folder (and nothing else)', () => {
    const onDisk = walk(dir)
      .map((p) => relative(dir, p).split('\\').join('/'))
      .filter((p) => p !== 'manifest.json')
      .sort();
    expect(manifest.files.map((f) => f.path).sort()).toEqual(onDisk);
  });

  it('every config file parses and agrees with the manifest', () => {
    const files = Object.fromEntries(
      Object.entries(CONFIG_FILE_SCHEMAS).map(([key, schema]) => {
        const path = manifest.paths[key as keyof typeof CONFIG_FILE_SCHEMAS]!;
        return [key, parseWith(schema, readJson(join(dir, path)), path)];
      }),
    ) as Parameters<typeof crossCheck>[1];
    expect(crossCheck(manifest, files)).toEqual([]);
  });

  it('stays small enough to ship', () => {
    if (pack.id === 'tiny-random') expect(manifest.total_bytes).toBeLessThan(15 * 1024 * 1024);
  });
});

describe('manifest validation', () => {
  const good = readJson(join(PUBLIC, 'models/tiny-random/manifest.json')) as Record<string, unknown>;

  it('refuses a damaged manifest with an INTEGRITY error naming the field', () => {
    const bad = structuredClone(good) as { painter: { head_dim: number } };
    bad.painter.head_dim = 48;
    expect(() => parseManifest(bad)).toThrowError(RgError);
    try {
      parseManifest(bad);
    } catch (e) {
      expect((e as RgError).code).toBe('INTEGRITY');
      expect((e as RgError).message).toContain('painter.head_dim');
    }
  });

  it("MindOmni's mechanics are the defaults; the shapes pack names its old choices", () => {
    type Loose = Record<string, Record<string, unknown>>;
    const bare = structuredClone(good) as Loose;
    delete bare.reasoner!.condition_hidden;
    delete bare.reasoner!.condition_answer_end_row;
    delete bare.connector!.final_norm;
    delete bare.painter!.time_embedders;
    delete bare.painter!.timestep_scale;
    delete bare.prompts!.negative_instruction_prefix;
    const mindomni = {
      condition: ['pre_norm', true],
      connectorNorm: false,
      time: ['separate', 1],
      negativePrefix: true,
    };
    const choices = (m: Manifest) => ({
      condition: [m.reasoner.condition_hidden, m.reasoner.condition_answer_end_row],
      connectorNorm: m.connector?.final_norm,
      time: [m.painter.time_embedders, m.painter.timestep_scale],
      negativePrefix: m.prompts.negative_instruction_prefix,
    });
    expect(choices(parseManifest(bare))).toEqual(mindomni);
    expect(choices(parseManifest(good))).toEqual(mindomni);
    const shapes = parseManifest(readJson(join(PUBLIC, 'models/shapes/manifest.json')));
    expect(choices(shapes)).toEqual({
      condition: ['post_norm', false],
      connectorNorm: true,
      time: ['shared', 1000],
      negativePrefix: false,
    });
    const wrong = structuredClone(good) as Loose;
    wrong.painter!.time_embedders = 'both';
    expect(() => parseManifest(wrong)).toThrowError(/painter\.time_embedders/);
  });

  it("LongRoPE (optional): Phi-3's rope_scaling on the connector and painter, checked field by field", () => {
    type Loose = Record<string, Record<string, unknown>>;
    const half = (good.painter as { head_dim: number }).head_dim / 2;
    const longrope = (type = 'longrope') => ({
      rope_scaling: { type, short_factor: Array(half).fill(1.5), long_factor: Array(half).fill(7) },
      original_max_position_embeddings: 8,
      max_position_embeddings: 64,
    });
    const withRope = (part: 'painter' | 'connector', extra: object) => {
      const m = structuredClone(good) as Loose;
      Object.assign(m[part]!, extra);
      return m;
    };
    expect(parseManifest(good).painter.rope_scaling).toBeUndefined();
    expect(parseManifest(withRope('painter', { rope_scaling: null })).painter.rope_scaling).toBeNull();
    expect(parseManifest(withRope('painter', longrope())).painter.rope_scaling?.long_factor).toHaveLength(half);
    expect(parseManifest(withRope('connector', longrope('su'))).connector?.rope_scaling?.type).toBe('su');
    const short = longrope();
    short.rope_scaling.long_factor.pop();
    expect(() => parseManifest(withRope('painter', short))).toThrowError(
      `painter.rope_scaling.long_factor: holds ${half - 1} factors but head_dim / 2 = ${half} are needed`,
    );
    const negative = longrope();
    negative.rope_scaling.short_factor[2] = -1;
    expect(() => parseManifest(withRope('connector', negative))).toThrowError(
      /connector\.rope_scaling\.short_factor\.2/,
    );
    const infinite = longrope();
    infinite.rope_scaling.long_factor[0] = Infinity;
    expect(() => parseManifest(withRope('painter', infinite))).toThrowError(/painter\.rope_scaling\.long_factor\.0/);
    const { original_max_position_embeddings: _, ...noOriginal } = longrope();
    expect(() => parseManifest(withRope('painter', noOriginal))).toThrowError(
      'painter.original_max_position_embeddings: is required with rope_scaling (LongRoPE)',
    );
    expect(() => parseManifest(withRope('painter', longrope('yarn')))).toThrowError(/painter\.rope_scaling\.type/);
  });

  it('refuses paths that leave the pack, wrong totals, and unknown fields', () => {
    const escape = structuredClone(good) as { files: { path: string }[] };
    escape.files[0].path = '../secret';
    expect(ManifestSchema.safeParse(escape).success).toBe(false);
    const total = structuredClone(good) as { total_bytes: number };
    total.total_bytes += 1;
    expect(ManifestSchema.safeParse(total).success).toBe(false);
    const extra = structuredClone(good) as Record<string, unknown>;
    extra.surprise = 1;
    expect(ManifestSchema.safeParse(extra).success).toBe(false);
  });

  it.each([
    ['%2e%2e/secret'],
    ['onnx/%2E%2E/x.onnx'],
    ['https://evil.example/x.onnx'],
    ['https:x.onnx'],
    ['onnx\\painter.onnx'],
    ['/etc/passwd'],
    ['onnx//painter.onnx'],
    ['./painter.onnx'],
    ['onnx/painter.onnx?x=1'],
  ])('refuses the file path %s with an INTEGRITY error naming files.0.path', (path) => {
    const bad = structuredClone(good) as { files: { path: string }[] };
    bad.files[0].path = path;
    expect(() => parseManifest(bad)).toThrowError(/files\.0\.path: a relative path inside the pack/);
  });

  it.each([
    ['reasoner', 'vocab_size', 262_145, 'reasoner.vocab_size: at most 262,144'],
    ['reasoner', 'hidden_size', 1e9, 'reasoner.hidden_size: at most 16,384'],
    ['reasoner', 'num_hidden_layers', 100_000, 'reasoner.num_hidden_layers: at most 256'],
    ['reasoner', 'max_position_embeddings', 2 ** 31, 'reasoner.max_position_embeddings: at most 131,072'],
    ['reasoner', 'intermediate_size', 10 ** 7, 'reasoner.intermediate_size: at most 65,536'],
    ['painter', 'num_hidden_layers', 1000, 'painter.num_hidden_layers: at most 256'],
    ['connector', 'hidden_size', 2 ** 20, 'connector.hidden_size: at most 16,384'],
    ['vae', 'latent_channels', 4096, 'vae.latent_channels: at most 64'],
    ['limits', 'max_size', 65_536, 'limits.max_size: at most 4,096'],
    ['limits', 'max_steps', 10 ** 6, 'limits.max_steps: at most 1,000'],
  ])('refuses %s.%s = %d, an allocation too large, naming the field and the bound', (group, field, value, message) => {
    const bad = structuredClone(good) as Record<string, Record<string, number>>;
    bad[group][field] = value;
    expect(() => parseManifest(bad)).toThrowError(message);
  });

  it('accepts real model dimensions (Qwen2.5-7B text decoder) under the bounds', () => {
    const real = structuredClone(good) as { reasoner: Record<string, number> };
    Object.assign(real.reasoner, { hidden_size: 3584, intermediate_size: 18_944, max_position_embeddings: 32_768 });
    const r = ManifestSchema.safeParse(real);
    const issues = r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    // Only the cross-checks against the tiny connector may complain, never a bound.
    expect(issues.filter((p) => p.startsWith('reasoner'))).toEqual([]);
  });

  it('reasoner_weights: one path (the f32 file) or one path per variant, every one listed in files', () => {
    const f32 = reasonerWeightPaths(parseManifest(structuredClone(good)).paths).f32!;
    expect(f32).toBe('reasoner.f32.safetensors');
    const v = structuredClone(good) as { paths: Record<string, unknown>; files: { path: string; bytes: number }[] };
    v.files = v.files.filter((f) => !/^reasoner\.(f16|bf16|int8|int4)\./.test(f.path));
    (v as unknown as { total_bytes: number }).total_bytes = v.files.reduce((a, f) => a + f.bytes, 0);
    v.paths.reasoner_weights = f32; // the original single-path form: the f32 file
    expect(reasonerWeightPaths(parseManifest(v).paths)).toEqual({ f32 });
    const file = v.files.find((f) => f.path === f32)!;
    v.files.push({ ...file, path: 'reasoner.int4.safetensors', bytes: 0 });
    (v as unknown as { total_bytes: number }).total_bytes = v.files.reduce((a, f) => a + f.bytes, 0);
    v.paths.reasoner_weights = { f32, int4: 'reasoner.int4.safetensors' };
    const parsed = parseManifest(v);
    expect(reasonerWeightPaths(parsed.paths)).toEqual({ f32, int4: 'reasoner.int4.safetensors' });
    expect(packPaths(parsed.paths)).toContain('reasoner.int4.safetensors');
    v.paths.reasoner_weights = { f32, bf16: 'reasoner.bf16.safetensors' };
    expect(() => parseManifest(v)).toThrowError(/paths names reasoner\.bf16\.safetensors, which files does not list/);
    v.paths.reasoner_weights = { q3: 'reasoner.int4.safetensors' };
    expect(() => parseManifest(v)).toThrowError(/paths\.reasoner_weights/);
  });

  it('examples (optional): a list of non-empty prompts', () => {
    expect(ManifestSchema.safeParse({ ...good, examples: ['draw 7 minus 4 blue squares'] }).success).toBe(true);
    expect(ManifestSchema.safeParse({ ...good, examples: [''] }).success).toBe(false);
    expect(ManifestSchema.safeParse({ ...good, examples: 'draw' }).success).toBe(false);
  });

  it('the default pack is the first that is not test-only: shapes; tiny-random stays the test pack', () => {
    expect(DEFAULT_PACK).toBe('shapes');
    expect(findPack('shapes')).toMatchObject({ shipped: true, testOnly: false });
    expect(findPack(DEFAULT_TEST_PACK)).toMatchObject({ id: 'tiny-random', testOnly: true });
  });

  it('crossCheck reports a config file that disagrees with the manifest', () => {
    const m = parseManifest(good);
    const dir = join(PUBLIC, 'models/tiny-random/');
    const files = Object.fromEntries(
      Object.entries(CONFIG_FILE_SCHEMAS).map(([key, schema]) => [
        key,
        parseWith(schema, readJson(join(dir, m.paths[key as keyof typeof CONFIG_FILE_SCHEMAS]!)), key),
      ]),
    ) as Parameters<typeof crossCheck>[1];
    (files.config as LlavaConfig).text_config.num_key_value_heads += 1;
    files.painter_config.painter.rope_theta = 1;
    expect(crossCheck(m, files)).toHaveLength(2);
  });

  it('a pack without a vision tower: reasoner.vision null, and exactly then no vision paths', () => {
    type Loose = Record<string, Record<string, unknown>>;
    const blind = structuredClone(good) as Loose;
    blind.reasoner!.vision = null;
    for (const k of ['vision_encoder', 'preprocessor_config', 'processor_config']) delete blind.paths![k];
    const m = parseManifest(blind);
    expect(m.reasoner.vision).toBeNull();
    expect(() => requireVision(m.reasoner, m.id)).toThrow('The pack tiny-random has no vision tower');
    try {
      requireVision(m.reasoner, m.id);
    } catch (e) {
      expect((e as RgError).field).toBe('image');
    }
    expect(requireVision(parseManifest(good).reasoner, 'x').image_size).toBeGreaterThan(0);
    // Its config files agree without the vision ones (config.json without vision_config).
    const dir = join(PUBLIC, 'models/tiny-random/');
    const files = Object.fromEntries(
      Object.entries(CONFIG_FILE_SCHEMAS)
        .filter(([key]) => key !== 'preprocessor_config' && key !== 'processor_config')
        .map(([key, schema]) => [key, parseWith(schema, readJson(join(dir, m.paths[key as 'config']!)), key)]),
    ) as Parameters<typeof crossCheck>[1];
    delete (files.config as Record<string, unknown>).vision_config;
    expect(crossCheck(m, files)).toEqual([]);
    // A vision path without the tower, or the tower without its paths, is refused by name.
    const stray = structuredClone(blind);
    stray.paths!.vision_encoder = (good as Loose).paths!.vision_encoder;
    expect(() => parseManifest(stray)).toThrow('paths.vision_encoder is given but reasoner.vision is null');
    const headless = structuredClone(good) as Loose;
    delete headless.paths!.preprocessor_config;
    expect(() => parseManifest(headless)).toThrow('reasoner.vision needs paths.vision_encoder');
  });

  it('the cascade kind: connector null exactly when painter_text is given, its files listed', () => {
    const files = good.files as { path: string; bytes: number; sha256: string }[];
    const tok = { path: 'painter_tokenizer.json', bytes: 0, sha256: '0'.repeat(64) };
    const cfg = { path: 'painter_tokenizer_config.json', bytes: 0, sha256: '0'.repeat(64) };
    const text = {
      tokenizer: tok.path,
      tokenizer_config: cfg.path,
      template_prefix: '<|user|>\n',
      template_suffix: '<|end|>\n',
      vocab_size: 32064,
    };
    const cascade = { ...good, connector: null, painter_text: text, files: [...files, tok, cfg] };
    const m = parseManifest(cascade);
    expect(m.connector).toBeNull();
    expect(m.painter_text?.vocab_size).toBe(32064);
    expect(() => parseManifest({ ...good, connector: null })).toThrow(
      'a pack without a connector needs painter_text (the cascade kind)',
    );
    expect(() => parseManifest({ ...cascade, connector: good.connector })).toThrow(
      'a connector (the mindomni kind) or painter_text (the cascade kind), not both',
    );
    expect(() => parseManifest({ ...cascade, files })).toThrow(
      'painter_text names painter_tokenizer.json, which files does not list',
    );
    // The memory plan counts the painter's embedding table (f32 here) and no connector.
    const dev = {
      maxBufferSize: 2 ** 40,
      maxStorageBufferBindingSize: 2 ** 40,
      features: [],
      budgetBytes: 2 ** 40,
      budgetSource: 'default' as const,
    };
    const support = { headDims: [16, 32, 64, 96, 128], maxVocab: 1 << 20 };
    const mindomni = parseManifest(good);
    const P = mindomni.painter.hidden_size;
    const painterBytes = (x: Manifest) => planMemory(planInputOf(x), {}, dev, support).weightsBytes.painter;
    const noRows = painterBytes({ ...m, painter_text: { ...text, vocab_size: 0 } } as Manifest);
    expect(painterBytes(m) - noRows).toBe(32064 * P * 4);
    expect(painterBytes(mindomni)).toBeGreaterThan(noRows); // the connector's matrices
    // The painter binds each tensor whole: a table over the binding limit is an issue, not a row-sharded fit.
    const small = { ...dev, maxStorageBufferBindingSize: 32064 * P * 4 - 1 };
    const plan = planMemory(planInputOf(m), {}, small, support);
    expect(plan.fits).toBe(false);
    expect(plan.issues.map((i) => i.message).join('\n')).toContain(
      'painter.embed_tokens (8.21 MB) is larger than a buffer binding of this adapter',
    );
    expect(plan.largestBuffer).toEqual({ name: 'painter.embed_tokens', bytes: 32064 * P * 4 });
  });

  it('registry resolves file URLs', () => {
    const p = findPack('tiny-random');
    expect(p).toBeDefined();
    expect(packFileUrl(p!, 'manifest.json')).toBe('/models/tiny-random/manifest.json');
    expect(packFileUrl(p!, 'onnx/painter.onnx', '/app')).toBe('/app/models/tiny-random/onnx/painter.onnx');
  });
});
