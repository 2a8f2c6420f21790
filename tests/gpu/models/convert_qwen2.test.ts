// Replica → converter → our reasoner engine, in Chromium WebGPU. The replica is a seeded Qwen2 checkpoint in the
// Hugging Face layout (BF16, two shards + index; tests/helpers/qwen2_replica.ts). The reference is our own engine on
// the same weights loaded directly: an F32 file the test writes from the replica's values under our names (its own
// mapping, not the converter's), each other format made from it by the loader at load. The converted file must give
// the same greedy ids and bit-identical logits, and load through the loader's own name/shape check. Then the
// committed replica of tools/make_qwen2_replica.py --fixture (written by torch, BF16, two shards): converted, our
// engine's greedy ids equal those of the project's PyTorch Qwen2 mirror (tools/rgvlm/model.py) in its reference.json.
// And those of Hugging Face transformers' own Qwen2ForCausalLM on the same files (tests/fixtures/hf_reference.json,
// written by tools/hf_reference.py on a lent GPU machine; transformers is not installed here): ids equal, the
// prompt's logits within 1e-4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineGreedy } from '../../../src/bench/real_shape';
import hf from '../../fixtures/hf_reference.json';
import { maxAbsDiff } from './painter_fixtures';
import { convertQwen2 } from '../../../src/convert/qwen2';
import { urlReader } from '../../../src/convert/http';
import { SERVER } from '../store/fixture';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { ReasonerEngine } from '../../../src/models/reasoner/engine';
import { uploadReasonerWeights, type ReasonerWeightOptions } from '../../../src/models/reasoner/weights';
import type { ReasonerConfig, WeightVariant } from '../../../src/packs/manifest';
import { mulberry32 } from '../../helpers/rng';
import { makeQwen2Replica } from '../../helpers/qwen2_replica';
import { memoryReader, memorySink } from '../../helpers/convert_memory';
import { writeSafetensors } from '../../helpers/safetensors';
import { tinyRandom } from './reasoner_fixtures';

let device: GPUDevice;
let replica: ReturnType<typeof makeQwen2Replica>;
let cfg: ReasonerConfig;
let direct: Uint8Array;
const N = 8;
const rand = mulberry32(2020);
const PROMPT = Array.from({ length: 12 }, () => Math.floor(rand() * 512));

async function convert(
  weights: WeightVariant,
  src = memoryReader(replica.files),
  c?: { set: boolean },
): Promise<Uint8Array> {
  const { sink, out } = memorySink();
  const r = await convertQwen2(src, sink, { weights, blockBytes: 4096 });
  if (c?.set || !cfg) cfg = { ...(await tinyRandom().manifest()).reasoner, ...r.dims };
  return out.get(r.weights)!;
}

beforeAll(async () => {
  device = await acquireDevice();
  const t = tinyRandom();
  const tok = {
    'tokenizer.json': await t.file('tokenizer.json'),
    'tokenizer_config.json': await t.file('tokenizer_config.json'),
  };
  replica = makeQwen2Replica({ vocab: 512, hidden: 64, heads: 4, kvHeads: 2, intermediate: 128, layers: 2 }, tok);
  await convert('f32');
  // The reference file: the replica's values under our names, written by the test itself.
  direct = writeSafetensors(
    [...replica.tensors].map(([hf, { shape, values }]) => [hf.replace(/^model\./, ''), 'F32', shape, values]),
  );
});

afterAll(() => {
  expect(liveBufferCount(device)).toBe(0);
});

/** Greedy ids and the prompt's last logits of the engine on `file` (held as `opts.format`). */
async function greedy(
  file: Uint8Array,
  opts: ReasonerWeightOptions = {},
  prompt: number[] = PROMPT,
): Promise<{ ids: number[]; logits: number[] }> {
  const w = uploadReasonerWeights(device, file, cfg, 'replica', opts);
  const engine = new ReasonerEngine(device, w, cfg);
  try {
    const r = await engineGreedy(engine, prompt, N, { logits: true });
    return { ids: r.ids, logits: Array.from(r.prefillLogits!) };
  } finally {
    engine.dispose();
    w.dispose();
  }
}

describe('replica → convertQwen2 → reasoner engine', () => {
  it.each(['f32', 'bf16', 'int8', 'int4'] as const)(
    '%s: the converted file gives the greedy ids and logits of the weights loaded directly',
    async (format) => {
      const converted = await convert(format);
      const want = await greedy(direct, { format });
      const got = await greedy(converted);
      console.log(`replica ${format}: greedy ${got.ids.join(' ')}`);
      expect(got.ids).toEqual(want.ids);
      expect(got.logits).toEqual(want.logits);
      expect(new Set(got.ids).size).toBeGreaterThan(1); // not a degenerate run
    },
  );

  it('over HTTP Range from the loopback server: the same bytes as from memory; a missing shard is named', async () => {
    const id = `convert-${Date.now()}`;
    const overrides = [...replica.files]
      .filter(([p]) => p !== 'model-00002-of-00002.safetensors')
      .map(([p, b]) => ({ path: `replica/${p}`, base64: base64(b) }));
    const plan = async (o: typeof overrides) =>
      fetch(`${SERVER}/__ctl/${id}/plan`, { method: 'POST', body: JSON.stringify({ overrides: o }) });
    const http = urlReader(`${SERVER}/s/${id}/replica/`);
    await plan(overrides);
    const missing = await convert('int4', http).catch((e: unknown) => e);
    expect((missing as Error).message).toContain('model-00002-of-00002.safetensors is missing');
    const shard2 = replica.files.get('model-00002-of-00002.safetensors')!;
    await plan([...overrides, { path: 'replica/model-00002-of-00002.safetensors', base64: base64(shard2) }]);
    const overHttp = await convert('int4', http);
    const inMemory = await convert('int4');
    expect(overHttp.byteLength).toBe(inMemory.byteLength);
    expect(overHttp.every((v, i) => v === inMemory[i])).toBe(true);
  });

  it.each(['f32', 'bf16'] as const)(
    '%s: the torch-written replica converted gives the greedy ids of the PyTorch mirror and transformers',
    async (format) => {
      const names = [
        'config.json',
        'generation_config.json',
        'model.safetensors.index.json',
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
        'reference.json',
      ];
      const files = new Map<string, Uint8Array>();
      for (const n of names) {
        const res = await fetch(new URL(`../../fixtures/qwen2-replica/${n}`, import.meta.url).href);
        expect(res.ok, n).toBe(true);
        files.set(n, new Uint8Array(await res.arrayBuffer()));
      }
      for (const n of ['tokenizer.json', 'tokenizer_config.json']) files.set(n, replica.files.get(n)!);
      const ref = JSON.parse(new TextDecoder().decode(files.get('reference.json')!)) as {
        prompt: number[];
        greedy: number[];
      };
      const keep = cfg;
      try {
        const file = await convert(format, memoryReader(files), { set: true });
        const got = await greedy(file, {}, ref.prompt);
        const h = hf.qwen2_replica;
        expect(got.logits.length).toBe(h.logits[0]!.length);
        const d = maxAbsDiff(got.logits, h.logits[0]!);
        console.log(
          `torch replica ${format}: ours ${got.ids.join(' ')}; PyTorch ${ref.greedy.join(' ')}; ` +
            `transformers ${hf.transformers} ${h.greedy.join(' ')}, max |Δ logit| ${d}`,
        );
        expect(got.ids).toEqual(ref.greedy);
        expect(h.prompt).toEqual(ref.prompt);
        expect(got.ids).toEqual(h.greedy);
        expect(d).toBeLessThan(1e-4);
      } finally {
        cfg = keep;
      }
    },
  );
});

function base64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
