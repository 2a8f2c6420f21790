// embed against its twin (exact: it copies floats): seeded tables and ids, an id offset into a longer id buffer,
// out-of-range ids (zero rows), enough rows to fold the dispatch into two dimensions, and ids written on the GPU by
// the sample kernel; tables stored in every weight format (f32, f16, bf16, int8 per row, int4 block-32: exact too,
// each element is dequantised once, q · s in f32, on both sides), whole and in row shards; bad arguments are refused
// before dispatching.
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDevice, Buffers, readF32, runBatch } from '../../helpers/gpu';
import { mulberry32, randomF32 } from '../../helpers/rng';
import { embed } from '../../../src/kernels/embed';
import { embedRef } from '../../../src/kernels/embed.ref';
import { sample } from '../../../src/kernels/sample';
import { GpuBatch } from '../../../src/gpu/batch';
import { KernelArgError } from '../../../src/errors';
import type { WeightFormat } from '../../../src/kernels/matmul';
import { toWeightData } from '../../../src/kernels/weight_data';
import { uploadWeight } from '../../../src/models/layers/weights';

const CASES = [
  { name: 'one row', vocab: 1024, dim: 64, rows: 1, idOffset: 0, ids: 1 },
  { name: 'a prompt', vocab: 1024, dim: 64, rows: 61, idOffset: 0, ids: 61 },
  { name: 'row from an offset', vocab: 100, dim: 24, rows: 3, idOffset: 5, ids: 16 },
  { name: 'odd dim', vocab: 37, dim: 7, rows: 300, idOffset: 2, ids: 302 },
  { name: 'folded dispatch', vocab: 64, dim: 1024, rows: 20_000, idOffset: 0, ids: 20_000 },
];

/** Seeded ids below `vocab`, with every seventh one out of range (vocab, or far beyond it). */
function randomIds(n: number, vocab: number, seed: number): Uint32Array {
  const r = mulberry32(seed);
  return Uint32Array.from({ length: n }, (_, i) =>
    i % 7 === 6 ? (i % 2 ? vocab : 0xffffffff) : Math.floor(r() * vocab),
  );
}

describe('embed', async () => {
  const device = await acquireDevice();
  const bufs = new Buffers(device);
  afterAll(() => bufs.destroy());

  it.each(CASES)(
    'matches its twin exactly: $name ($rows rows of [$vocab, $dim] from id $idOffset)',
    async ({ vocab, dim, rows, idOffset, ids: n }) => {
      const table = randomF32(vocab * dim, vocab + dim, -3, 3);
      const ids = randomIds(n, vocab, rows + idOffset);
      const out = bufs.empty(rows * dim * 4);
      runBatch(device, (b) =>
        embed(b, { table: bufs.upload(table), ids: bufs.upload(ids), out, rows, dim, vocab, idOffset }),
      );
      const got = await readF32(device, out, rows * dim);
      const want = embedRef({ table, ids, rows, dim, vocab, idOffset });
      // Element by element (toEqual on 20 million numbers takes longer than the kernel).
      let firstBad = -1;
      for (let i = 0; i < want.length && firstBad < 0; i++) if (!Object.is(got[i], want[i])) firstBad = i;
      expect(firstBad, firstBad >= 0 ? `element ${firstBad}: ${got[firstBad]} vs ${want[firstBad]}` : '').toBe(-1);
      expect(got.length).toBe(want.length);
      // The twin itself: an in-range row is the table's row, an out-of-range one is zero.
      const first = ids[idOffset]!;
      expect(Array.from(want.subarray(0, dim))).toEqual(
        first < vocab ? Array.from(table.subarray(first * dim, (first + 1) * dim)) : new Array<number>(dim).fill(0),
      );
    },
  );

  const FORMATS: WeightFormat[] = ['f32', 'f16', 'bf16', 'int8', 'int4'];
  /** GPU == twin element for element (Object.is: -0 and NaN count). */
  function expectSame(got: Float32Array, want: Float32Array): void {
    let firstBad = -1;
    for (let i = 0; i < want.length && firstBad < 0; i++) if (!Object.is(got[i], want[i])) firstBad = i;
    expect(firstBad, firstBad >= 0 ? `element ${firstBad}: ${got[firstBad]} vs ${want[firstBad]}` : '').toBe(-1);
  }

  // Shards of a 100-row table: none (a binding limit above the table), 3 and 7 uneven ones (34/33/33, 15/15/14/…).
  it.each(FORMATS.flatMap((f) => [Infinity, 3, 7].map((shards) => [f, shards] as const)))(
    'a %s table in %s shard(s) gathers exactly what its twin dequantises',
    async (format, shards) => {
      const [vocab, dim, rows] = [100, 64, 300];
      const data = toWeightData(randomF32(vocab * dim, 17, -2, 2), vocab, dim, format);
      const perRow = (dim * { f32: 4, f16: 2, bf16: 2, int8: 1, int4: 0.5 }[format]) as number;
      const limit = shards === Infinity ? 2 ** 31 : Math.ceil(vocab / shards) * perRow;
      const owned: GPUBuffer[] = [];
      try {
        const { weight } = uploadWeight(device, data, `table ${format}`, limit, owned);
        expect('shards' in weight ? weight.shards.length : 1).toBe(shards === Infinity ? 1 : shards);
        const ids = randomIds(rows, vocab, 23);
        const out = bufs.empty(rows * dim * 4);
        // Garbage first: a shard must write every row in its range, the first shard the out-of-range ones.
        device.queue.writeBuffer(out, 0, new Float32Array(rows * dim).fill(NaN));
        runBatch(device, (b) => embed(b, { table: weight, ids: bufs.upload(ids), out, rows, dim, vocab }));
        const want = embedRef({ table: data, ids, rows, dim, vocab });
        expectSame(await readF32(device, out, rows * dim), want);
        if (format !== 'f32') {
          // Really dequantised: not the f32 values, and (quantised formats) within their step of them.
          const exact = embedRef({
            table: toWeightData(randomF32(vocab * dim, 17, -2, 2), vocab, dim, 'f32'),
            ids,
            rows,
            dim,
            vocab,
          });
          let diff = 0;
          for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i]! - exact[i]!));
          expect(diff).toBeGreaterThan(0);
          expect(diff).toBeLessThan({ f16: 2e-3, bf16: 1e-2, int8: 2 / 127, int4: 2 / 7 / 2 + 1e-6 }[format]!);
        }
      } finally {
        for (const b of owned) b.destroy();
      }
    },
  );

  it('embeds the id the sample kernel wrote on the GPU, in the same command buffer', async () => {
    const vocab = 50;
    const dim = 16;
    const logits = randomF32(vocab, 7, -1, 1);
    const top = logits.indexOf(Math.max(...logits));
    const table = randomF32(vocab * dim, 8);
    const ids = bufs.empty(3 * 4);
    const out = bufs.empty(dim * 4);
    runBatch(device, (b) => {
      sample(b, {
        logits: bufs.upload(logits),
        out: ids,
        outIndex: 2,
        vocab,
        temperature: 0,
        topK: 0,
        topP: 1,
        seed: 0,
        step: 0,
      });
      embed(b, { table: bufs.upload(table), ids, out, rows: 1, dim, vocab, idOffset: 2 });
    });
    expect(Array.from(await readF32(device, out, dim))).toEqual(Array.from(table.subarray(top * dim, (top + 1) * dim)));
  });

  const ok = () => ({
    table: bufs.empty(10 * 8 * 4),
    ids: bufs.empty(4 * 4),
    out: bufs.empty(4 * 8 * 4),
    rows: 4,
    dim: 8,
    vocab: 10,
  });
  const bad: [string, () => Parameters<typeof embed>[1], string][] = [
    [
      'a table smaller than vocab x dim',
      () => ({ ...ok(), vocab: 11 }),
      'embed: table (f32 [11, 8]) holds 320 bytes but 352 are needed',
    ],
    [
      'too few ids for idOffset + rows',
      () => ({ ...ok(), idOffset: 1 }),
      'embed: ids holds 16 bytes but 20 are needed',
    ],
    ['out too small', () => ({ ...ok(), out: bufs.empty(64) }), 'embed: out holds 64 bytes but 128 are needed'],
    [
      'out aliasing table',
      () => {
        const a = ok();
        return { ...a, out: a.table, rows: 2 };
      },
      'embed: out must not alias table',
    ],
    ['rows 0', () => ({ ...ok(), rows: 0 }), 'embed: rows must be a positive integer, got 0'],
    ['dim 2.5', () => ({ ...ok(), dim: 2.5 }), 'embed: dim must be a positive integer, got 2.5'],
    ['vocab 0', () => ({ ...ok(), vocab: 0 }), 'embed: vocab must be a positive integer, got 0'],
    ['negative idOffset', () => ({ ...ok(), idOffset: -1 }), 'embed: idOffset must be a non-negative integer, got -1'],
  ];
  it.each(bad)('rejects %s before dispatching', (_, make, message) => {
    const args = make();
    expect(() => embed(new GpuBatch(device), args)).toThrow(KernelArgError);
    expect(() => embed(new GpuBatch(device), args)).toThrow(message);
  });

  it('rejects a table of the wrong shape or dim, and shards that do not cover the table', () => {
    const batch = new GpuBatch(device);
    const base = { ids: bufs.empty(16), out: bufs.empty(4 * 32 * 4), rows: 4, dim: 32, vocab: 10 };
    const w = (out: number, inn: number) =>
      ({
        format: 'int4',
        out,
        in: inn,
        weightQ4: bufs.empty((out * inn) / 2),
        weightScale: bufs.empty(out * 4),
      }) as const;
    expect(() => embed(batch, { ...base, table: w(9, 32) })).toThrow(
      'embed: the table is [9, 32] but vocab 10 x dim 32 was asked for',
    );
    expect(() => embed(batch, { ...base, dim: 16, out: bufs.empty(256), table: { ...w(10, 16) } })).toThrow(
      'embed: a int4 table needs dim to be a multiple of 32, got 16',
    );
    expect(() =>
      embed(batch, {
        ...base,
        table: {
          format: 'int4',
          out: 10,
          in: 32,
          shards: [
            { row0: 0, weight: w(4, 32) },
            { row0: 5, weight: w(5, 32) },
          ],
        },
      }),
    ).toThrow(KernelArgError);
  });

  it('rejects out aliasing ids before dispatching', () => {
    const ids = bufs.empty(4 * 8 * 4);
    const args = { table: bufs.empty(10 * 8 * 4), ids, out: ids, rows: 4, dim: 8, vocab: 10 };
    expect(() => embed(new GpuBatch(device), args)).toThrow('embed: out must not alias ids');
  });
});
