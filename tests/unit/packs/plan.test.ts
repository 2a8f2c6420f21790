// The memory plan (src/packs/plan.ts): its weight bytes equal the tensor bytes of the shipped packs' safetensors
// files, the real-shape figures match the hand-computed ones (written out below), a pack that does not fit is
// refused with the numbers and what to try, and dims the kernels or the adapter cannot run are named by field.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseManifest, reasonerWeightPaths } from '../../../src/packs/manifest';
import { parseSafetensors } from '../../../src/packs/safetensors';
import { RgError } from '../../../src/errors';
import {
  DEFAULT_BUDGET_BYTES,
  PRECISIONS,
  PREFILL_CHUNK_ROWS,
  allowanceOf,
  assertPlanFits,
  describePlan,
  matrixBytes,
  planInputOf,
  planMemory,
  prefillChunkRows,
  type DeviceAllowance,
  type KernelSupport,
  type PlanInput,
} from '../../../src/packs/plan';
import { KERNEL_SUPPORT, SAMPLE_MAX_VOCAB } from '../../../src/models/support';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const modelDir = (pack: string) => fileURLToPath(new URL(`../../../public/models/${pack}/`, import.meta.url));
const manifestOf = (pack: string) => parseManifest(JSON.parse(readFileSync(modelDir(pack) + 'manifest.json', 'utf8')));

/** Sum of the tensor data bytes of a safetensors file (what the engines upload). */
function tensorBytes(pack: string, path: string): number {
  const bytes = new Uint8Array(readFileSync(modelDir(pack) + path));
  const st = parseSafetensors(bytes, path);
  let n = 0;
  for (const t of st.tensors.values()) n += t.end - t.begin;
  return n;
}

/** The WebGPU spec's default limits (what an adapter guarantees). */
const SPEC: DeviceAllowance = allowanceOf({
  limits: { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB },
  features: [],
});
/** A desktop adapter: 4 GiB buffers, 2 GiB bindings, a 16 GiB budget set by the user. */
const DESKTOP: DeviceAllowance = allowanceOf(
  { limits: { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB }, features: ['shader-f16'] },
  16 * GiB,
);
/** The kernels' support with head_dim 96 added (OmniGen's), so the painter figures do not depend on its arrival. */
const WITH_96: KernelSupport = { ...KERNEL_SUPPORT, headDims: [...KERNEL_SUPPORT.headDims, 96] };

/** qwen2.5-0.5b shape: hidden 896, 24 layers, 14 q / 2 kv heads, head_dim 64, intermediate 4,864, vocab 151,936. */
const qwen05 = {
  vocab_size: 151_936,
  hidden_size: 896,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  head_dim: 64,
  intermediate_size: 4864,
  max_position_embeddings: 32_768,
  tie_word_embeddings: true,
  attention_bias: true,
};
/** OmniGen's layer shape (Phi-3: hidden 3072, 32 heads of 96, intermediate 8192), 32 layers. */
const omnigen = {
  hidden_size: 3072,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  head_dim: 96,
  intermediate_size: 8192,
  latent_channels: 4,
  patch_size: 2,
  timestep_freq_dim: 256,
};
const realShape: PlanInput = {
  id: 'real-shape',
  reasoner: qwen05,
  connector: { ...omnigen, num_hidden_layers: 2, input_size: 896 },
  painter: omnigen,
  vaeDownscale: 8,
  reasonerPrecisions: ['f32', 'f16', 'bf16', 'int8', 'int4'],
  painterPrecisions: ['f32', 'f16', 'int8', 'int4'],
  onnxBytes: 0,
  gpuFeatures: [],
  defaults: { width: 512, height: 512, steps: 50 },
  minSize: 256,
};

describe('memory plan: weight bytes', () => {
  it('counts int8 and int4 scales as docs/formats.md lays them out', () => {
    expect(matrixBytes(10, 64, 'f32')).toBe(10 * 64 * 4);
    expect(matrixBytes(10, 64, 'f16')).toBe(10 * 64 * 2);
    expect(matrixBytes(10, 64, 'bf16')).toBe(10 * 64 * 2);
    expect(matrixBytes(10, 64, 'int8')).toBe(10 * 64 + 10 * 4);
    expect(matrixBytes(10, 64, 'int4')).toBe(10 * 32 + 10 * 2 * 4);
    expect(matrixBytes(10, 64, 'int4', 2)).toBe(10 * 32 + 10 * 2 * 2);
  });

  for (const pack of ['tiny-random', 'shapes']) {
    it(`equals the tensor bytes of ${pack}'s reasoner and painter files, per variant`, () => {
      const m = manifestOf(pack);
      const input = planInputOf(m);
      // The f32 reasoner file offers every precision: the engine converts it at load (src/models/reasoner/weights.ts).
      expect(input.reasonerPrecisions).toEqual([...PRECISIONS]);
      const reasoner = tensorBytes(pack, reasonerWeightPaths(m.paths).f32!);
      for (const [v, path] of Object.entries(m.paths.painter_weights)) {
        const p = planMemory(input, { painterPrecision: v as 'f32' }, SPEC, KERNEL_SUPPORT);
        expect(p.weightsBytes.reasoner, 'reasoner').toBe(reasoner);
        expect(p.weightsBytes.painter, `painter ${v}`).toBe(tensorBytes(pack, path));
      }
      const plan = planMemory(input, {}, SPEC, KERNEL_SUPPORT);
      const onnx = ['vision_encoder', 'vae_encoder', 'vae_decoder'] as const;
      expect(plan.weightsBytes.onnx).toBe(
        onnx.reduce((a, k) => a + m.files.find((f) => f.path === m.paths[k])!.bytes, 0),
      );
      expect(plan.fits).toBe(true);
      expect(plan.issues).toEqual([]);
      expect(() => assertPlanFits(plan)).not.toThrow();
      // Context: the default 4,096 capped by the pack's max positions.
      expect(plan.context).toBe(Math.min(4096, m.reasoner.max_position_embeddings));
    });
  }
});

describe("memory plan: real shapes (the plan's estimate, hand-checked)", () => {
  // Matrix params of the 0.5B shape: embed 151,936·896 = 136,134,656; per layer qkv 1,152·896 + o 896·896 +
  // gate_up 9,728·896 + down 896·4,864 = 14,909,440, × 24 = 357,826,560; total 493,961,216 (tied: no lm_head).
  // Vectors (f32): per layer 2·896 norms + 1,152 qkv bias = 2,944, × 24 + 896 final norm = 71,552 → 286,208 bytes.
  const reasonerOnly = { painter: false, context: 4096 } as const;

  it('0.5B shape, weights: f32 / f16 / int8 / int4 (f32 or f16 scales)', () => {
    const w = (c: object) => planMemory(realShape, { ...reasonerOnly, ...c }, DESKTOP, WITH_96).weightsBytes.reasoner;
    expect(w({ reasonerPrecision: 'f32' })).toBe(493_961_216 * 4 + 286_208); // 1,976,131,072
    expect(w({ reasonerPrecision: 'f16' })).toBe(493_961_216 * 2 + 286_208); // 988,208,640
    expect(w({ reasonerPrecision: 'bf16' })).toBe(988_208_640);
    // int8: 1 byte per param + one f32 scale per row (rows: 151,936 + 24 · (1,152 + 896 + 9,728 + 896) = 456,064)
    expect(w({ reasonerPrecision: 'int8' })).toBe(493_961_216 + 456_064 * 4 + 286_208); // 496,071,680
    // int4: ½ byte per param + a scale per 32 params (f32: ⅛ byte per param, f16: 1/16)
    expect(w({ reasonerPrecision: 'int4' })).toBe(493_961_216 * 0.625 + 286_208); // 309,011,968
    expect(w({ reasonerPrecision: 'int4', int4ScaleBytes: 2 })).toBe(493_961_216 * 0.5625 + 286_208); // 278,139,392
  });

  it('0.5B shape in int4 at 4,096 tokens: KV 96 MiB, a prefill chunk of 512 rows, fits a desktop adapter', () => {
    const p = planMemory(realShape, { ...reasonerOnly, reasonerPrecision: 'int4' }, DESKTOP, WITH_96);
    // KV: 24 layers × 2 × (2 kv heads · 64) × 4,096 × 4 bytes
    expect(p.kvBytes).toBe(24 * 2 * 128 * 4096 * 4); // 100,663,296
    // The engine prefills in chunks of 512 rows (PREFILL_CHUNK_ROWS; one row of gate_up is 38,912 bytes, far below
    // the binding): x, normed, q, attention out, tmp (R·896·4 each), qkv R·1,152·4, gate_up R·9,728·4,
    // act R·4,864·4; hidden states 4,096·896·4, logits 151,936·4, ids 4,096·4, decode partials
    // 14 heads · 64 splits · 17 vec4 · 16 bytes.
    expect(prefillChunkRows(realShape.reasoner, DESKTOP.maxStorageBufferBindingSize)).toBe(PREFILL_CHUNK_ROWS);
    const R = 512;
    const act =
      5 * R * 896 * 4 +
      4096 * 896 * 4 +
      R * 1152 * 4 +
      R * 9728 * 4 +
      R * 4864 * 4 +
      151_936 * 4 +
      4096 * 4 +
      14 * 64 * 17 * 16;
    expect(p.activationBytes).toBe(act); // 56,966,656
    expect(p.totalBytes).toBe(309_011_968 + 100_663_296 + act); // 466,641,920 ≈ 0.47 GB
    // The largest buffer is now the int4 embedding (151,936 rows of 448 bytes), no longer the prefill's gate_up.
    expect(p.largestBuffer).toEqual({ name: 'reasoner.embed_tokens', bytes: 151_936 * 448 });
    expect(p.fits).toBe(true);
    expect(describePlan(p)).toBe(
      'needs ≈ 467 MB GPU (weights 309 MB + KV 101 MB + activations 57.0 MB) at int4, 4,096 tokens',
    );
    // Asked for one pass over all 4,096 rows, the plan still counts the engine's chunk (it never prefills more).
    expect(
      planMemory(realShape, { ...reasonerOnly, reasonerPrecision: 'int4', prefillRows: 4096 }, DESKTOP, WITH_96),
    ).toEqual(p);
  });

  it('0.5B int4 at 4,096 tokens on spec limits: the chunked prefill fits 128 MiB; f32 embedding row-sharded', () => {
    // Unchunked, the 4,096-row gate_up scratch would be 159,383,552 bytes, over 128 MiB; in chunks of 512 it fits.
    const p = planMemory(realShape, { ...reasonerOnly, reasonerPrecision: 'int4' }, SPEC, WITH_96);
    expect(p.fits).toBe(true);
    expect(p.issues).toEqual([]);
    // The embedding (151,936 int4 rows of 448 bytes = 68 MB) fits one binding whole; f32 (544 MB) is row-sharded.
    const f32 = planMemory(realShape, { ...reasonerOnly, context: 2048, reasonerPrecision: 'f32' }, SPEC, WITH_96);
    const perShard = Math.floor((128 * MiB) / (896 * 4)) * 896 * 4;
    expect(f32.largestBuffer).toEqual({ name: 'reasoner.embed_tokens (one row shard)', bytes: perShard });
  });

  it('the prefill chunk shrinks where 512 rows of gate|up would not bind: 7B widths on a 16 MiB binding', () => {
    // Qwen2.5-7B: intermediate 18,944 → gate|up 151,552 bytes a row; 16 MiB / 151,552 = 110 rows.
    const seven = { ...realShape.reasoner, hidden_size: 3584, intermediate_size: 18_944, num_attention_heads: 28 };
    expect(prefillChunkRows(seven, 128 * MiB)).toBe(512);
    expect(prefillChunkRows(seven, 16 * MiB)).toBe(110);
    expect(prefillChunkRows(seven, 1000)).toBe(1);
  });

  // OmniGen painter, 32 layers: quantised params per layer 3,072 · (9,216 + 3,072 + 16,384) + 3,072 · 8,192 =
  // 113,246,208; with 2 connector layers of the same shape, 34 layers = 3,850,371,072 params. f32 parts: input_proj
  // 3,072·896, x_embedder 3,072·16, t1 3,072·256, t2 3,072², adaLN 6,144·3,072, final 16·3,072 (+ biases, norms).
  // f32 matrices: connector input, x_embedder, OmniGen's two time embedders (t_embedder and time_token: 256 → 3,072
  // → 3,072 each), adaLN, final linear.
  const painterF32 = (3072 * 896 + 3072 * 16 + 2 * (3072 * 256 + 3072 * 3072) + 6144 * 3072 + 16 * 3072) * 4;
  // norms: connector 2·2 (MindOmni's connector has no final norm), painter 2·32+1; biases 8·3,072 + 16
  const painterVec = (4 * 3072 + 65 * 3072 + 8 * 3072 + 16) * 4;

  it('OmniGen-layer painter weights: f32 / int4', () => {
    const w = (p: 'f32' | 'int4') =>
      planMemory(realShape, { painterPrecision: p, conditionTokens: 300 }, DESKTOP, WITH_96).weightsBytes.painter;
    expect(w('f32')).toBe(3_850_371_072 * 4 + painterF32 + painterVec); // 15,571,120,192
    expect(w('int4')).toBe(3_850_371_072 * 0.625 + painterF32 + painterVec); // 2,576,117,824
  });

  it('OmniGen-layer painter at 1,024 and 4,096 image tokens, 300 condition tokens, 2 CFG branches', () => {
    const at = (size: number) =>
      planMemory(
        realShape,
        {
          reasonerPrecision: 'int4',
          painterPrecision: 'int4',
          conditionTokens: 300,
          prefillRows: 32,
          width: size,
          height: size,
        },
        DESKTOP,
        WITH_96,
      );
    const p512 = at(512);
    expect(p512.imageTokens).toBe(1024); // (512 / 8 / 2)²
    // Condition K/V: 32 layers × 2 × 2 branches × 300 × (32 · 96) × 4
    expect(p512.runs.painter!.kv).toBe(32 * 2 * 2 * 300 * 3072 * 4); // 471,859,200
    // rows = 2 · (1 + 1,024) = 2,050: decoder scratch 2,050 · (3,072 + 9,216 + 3,072 + 3,072 + 3,072 + 16,384 +
    // 8,192) · 4, k and v 2,050 · 3,072 · 4 each, condition in/out/prefix, latent rows, LN, velocity, tables, ...
    expect(p512.runs.painter!.activations).toBe(549_271_552);
    expect(p512.peakRun).toBe('painter');
    expect(p512.largestBuffer).toEqual({ name: 'painter gate_up', bytes: 2050 * 16_384 * 4 }); // 134,348,800
    expect(p512.totalBytes).toBe(309_011_968 + 2_576_117_824 + 471_859_200 + 549_271_552); // 3,906,260,544
    expect(p512.fits).toBe(true);
    const p1024 = at(1024);
    expect(p1024.imageTokens).toBe(4096);
    expect(p1024.runs.painter!.activations).toBe(2_135_701_504);
    expect(p1024.largestBuffer.bytes).toBe(2 * 4097 * 16_384 * 4); // 537,001,984
    // On spec limits the 1,024-token painter's gate_up (134,348,800 bytes) is just over a 128 MiB binding.
    const spec = planMemory(
      realShape,
      { reasonerPrecision: 'int4', painterPrecision: 'int4', conditionTokens: 300, prefillRows: 32 },
      { ...SPEC, budgetBytes: 16 * GiB },
      WITH_96,
    );
    expect(spec.issues.map((i) => i.field)).toEqual(['size']);
    expect(spec.suggestions).toContain('images of 256×256 (needs ≈ 3.53 GB)');
    // f16 painter weights on spec limits: no single change fits; int4 with smaller images does.
    const f16 = planMemory(
      realShape,
      { reasonerPrecision: 'int4', painterPrecision: 'f16', conditionTokens: 300, prefillRows: 32 },
      SPEC,
      WITH_96,
    );
    expect(f16.issues.map((i) => i.field)).toEqual(['size', 'budget']);
    expect(f16.suggestions).toEqual(['int4 weights with images of 256×256 (needs ≈ 3.53 GB)', 'a smaller pack']);
  });
});

describe('memory plan: refusals', () => {
  const tiny = planInputOf(manifestOf('tiny-random'));

  it('refuses a pack over the budget with the numbers and what to try (MEMORY_PLAN)', () => {
    const full = planMemory(tiny, {}, SPEC, KERNEL_SUPPORT);
    const low = { ...SPEC, budgetBytes: full.totalBytes - 1, budgetSource: 'user' as const };
    const p = planMemory(tiny, {}, low, KERNEL_SUPPORT);
    expect(p.fits).toBe(false);
    expect(p.issues).toEqual([
      { kind: 'memory', field: 'budget', message: expect.stringContaining('more than the') as string },
    ]);
    expect(p.suggestions.length).toBeGreaterThan(1);
    expect(p.suggestions[0]).toMatch(/^int4 weights \(needs ≈ /);
    const err = (() => {
      try {
        assertPlanFits(p);
      } catch (e) {
        return e as RgError;
      }
      throw new Error('no refusal');
    })();
    expect(err).toBeInstanceOf(RgError);
    expect(err.code).toBe('MEMORY_PLAN');
    expect(err.field).toBe('budget');
    expect(err.message).toContain(describePlan(p));
    expect(err.message).toContain('this device allows');
    expect(err.hint).toMatch(/^Try int4 weights .*a smaller pack\.$/);
    // The default budget says it is a default.
    expect(planMemory(tiny, {}, SPEC, KERNEL_SUPPORT).device.budgetBytes).toBe(DEFAULT_BUDGET_BYTES);
  });

  it('refuses a binding limit below one buffer, naming the buffer and both limits', () => {
    const dev = { ...SPEC, maxStorageBufferBindingSize: 64 * 1024 };
    const p = planMemory(tiny, {}, dev, KERNEL_SUPPORT);
    expect(p.fits).toBe(false);
    expect(p.issues[0]!.message).toMatch(/buffer needs .* more than one buffer binding of this adapter holds/);
    expect(() => assertPlanFits(p)).toThrow(expect.objectContaining({ code: 'MEMORY_PLAN' }) as Error);
  });

  const refusal = (input: PlanInput, choice: object, dev = SPEC, support = KERNEL_SUPPORT) => {
    const p = planMemory(input, choice, dev, support);
    try {
      assertPlanFits(p);
    } catch (e) {
      return e as RgError;
    }
    throw new Error('no refusal');
  };

  it('names an unsupported head_dim, a vocab over the sample range, a context over max positions', () => {
    const e1 = refusal({ ...tiny, painter: { ...tiny.painter, head_dim: 48 } }, {});
    expect(e1).toMatchObject({ code: 'UNSUPPORTED_PACK', field: 'painter.head_dim' });
    expect(e1.message).toContain(`painter.head_dim 48 is not one the attention kernel supports`);
    const e2 = refusal(tiny, {}, SPEC, { ...KERNEL_SUPPORT, maxVocab: 512 });
    expect(e2).toMatchObject({ code: 'UNSUPPORTED_PACK', field: 'reasoner.vocab_size' });
    expect(e2.message).toContain("over the sample kernel's range (512)");
    const e3 = refusal(tiny, { context: tiny.reasoner.max_position_embeddings + 1 });
    expect(e3).toMatchObject({ code: 'UNSUPPORTED_PACK', field: 'context' });
    // A vocabulary whose logits row does not fit one binding is refused too (the sample kernel reads it whole).
    const e4 = refusal(tiny, {}, { ...SPEC, maxStorageBufferBindingSize: 1024 });
    expect(e4).toMatchObject({ code: 'UNSUPPORTED_PACK', field: 'reasoner.vocab_size' });
    // Today's kernels: OmniGen's head_dim 96 is refused exactly when the attention kernel lacks it.
    const omni = planMemory(realShape, { conditionTokens: 300 }, DESKTOP, KERNEL_SUPPORT);
    expect(omni.issues.some((i) => i.field === 'painter.head_dim')).toBe(!KERNEL_SUPPORT.headDims.includes(96));
    expect(SAMPLE_MAX_VOCAB).toBeGreaterThan(151_936);
  });

  it('tells an adapter without a required feature before the download', () => {
    const e = refusal({ ...tiny, gpuFeatures: ['shader-f16'] }, {});
    expect(e).toMatchObject({ code: 'UNSUPPORTED_PACK', field: 'requirements.gpu_features' });
    expect(e.message).toContain('shader-f16');
    expect(planMemory({ ...tiny, gpuFeatures: ['shader-f16'] }, {}, DESKTOP, KERNEL_SUPPORT).fits).toBe(true);
  });

  it('refuses int4 when a matmul input is not a multiple of 32, and a precision the pack lacks', () => {
    const odd = { ...realShape, reasoner: { ...qwen05, intermediate_size: 4860 } };
    const e = refusal(odd, { reasonerPrecision: 'int4', painter: false }, DESKTOP);
    expect(e).toMatchObject({ code: 'UNSUPPORTED_PACK', field: 'reasoner.intermediate_size' });
    expect(() => planMemory(tiny, { painterPrecision: 'bf16' }, SPEC, KERNEL_SUPPORT)).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT', field: 'weights' }) as Error,
    );
    const int4Only = { ...tiny, reasonerPrecisions: ['int4' as const] };
    expect(() => planMemory(int4Only, { reasonerPrecision: 'int8' }, SPEC, KERNEL_SUPPORT)).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT', field: 'reasonerWeights' }) as Error,
    );
  });

  it('counts the reasoner in the chosen precision (an f32 file is converted at load)', () => {
    const f32 = planMemory(tiny, { painter: false }, SPEC, KERNEL_SUPPORT);
    const int8 = planMemory(tiny, { reasonerPrecision: 'int8', painter: false }, SPEC, KERNEL_SUPPORT);
    expect(int8.reasonerPrecision).toBe('int8');
    const r = tiny.reasoner;
    const rows = r.vocab_size; // the embedding table (tied: also the lm_head)
    expect(f32.weightsBytes.reasoner).toBeGreaterThan(rows * r.hidden_size * 4);
    // int8: one byte per weight + an f32 scale per row, against 4 bytes per weight.
    expect(int8.weightsBytes.reasoner).toBeLessThan(f32.weightsBytes.reasoner / 3);
    expect(int8.totalBytes).toBeLessThan(f32.totalBytes);
  });
});
