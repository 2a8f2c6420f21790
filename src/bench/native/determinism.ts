/**
 * @file Determinism across machines: the noise kernel's Philox words and normals for fixed seeds, and the painter
 * stages of the shipped tiny-random and shapes packs for a fixed seed (painter_cases.ts `packRecord`), all hashed.
 * `compareHashes` checks a run against the committed SwiftShader record (tests/fixtures/native/hashes.json) and, where
 * they differ, names the first stage that differs and by how much (the change of its sum, sum of magnitudes and
 * largest magnitude), and whether the 8-bit preview image is still the same.
 */
import { GpuBatch } from '../../gpu/batch';
import { emptyBuffer, readF32, readU32 } from '../../gpu/readback';
import { noise } from '../../kernels/noise';
import { noiseWordsRef } from '../../kernels/noise.ref';
import { packRecord, type PackRecord } from './painter_cases';
import { sha256, stats, type Stats } from './data';

export interface NoiseRecord {
  seed: number;
  count: number;
  wordsSha256: string;
  normalsSha256: string;
  normalsStats: Stats;
}

export interface HashRecord {
  /** The adapter the record was made on. */
  adapter: string;
  noise: NoiseRecord[];
  packs: PackRecord[];
}

export const NOISE_SEEDS = [0, 42, 0xffffffff] as const;
const NOISE_COUNT = 4096;
export const PACK_SEED = 42;

/** The noise words and normals of each seed, hashed; `wordsMatchCpu` says whether the words equal the CPU twin. */
export async function noiseRecords(device: GPUDevice): Promise<{ records: NoiseRecord[]; wordsMatchCpu: boolean }> {
  const records: NoiseRecord[] = [];
  let wordsMatchCpu = true;
  const buf = emptyBuffer(device, NOISE_COUNT * 4, 'noise');
  try {
    for (const seed of NOISE_SEEDS) {
      const b = new GpuBatch(device, 'noise words');
      noise(b, { out: buf, count: NOISE_COUNT, seed, words: true });
      b.submit();
      const words = await readU32(device, buf, NOISE_COUNT);
      const ref = noiseWordsRef({ count: NOISE_COUNT, seed });
      if (ref.length !== words.length || ref.some((w, i) => w !== words[i])) wordsMatchCpu = false;
      const n = new GpuBatch(device, 'noise normals');
      noise(n, { out: buf, count: NOISE_COUNT, seed });
      n.submit();
      const normals = await readF32(device, buf, NOISE_COUNT);
      records.push({
        seed,
        count: NOISE_COUNT,
        wordsSha256: await sha256(words),
        normalsSha256: await sha256(normals),
        normalsStats: stats(normals),
      });
    }
  } finally {
    buf.destroy();
  }
  return { records, wordsMatchCpu };
}

/** The whole record of this device. */
export async function hashRecord(
  device: GPUDevice,
  adapter: string,
): Promise<{ record: HashRecord; wordsMatchCpu: boolean }> {
  const { records, wordsMatchCpu } = await noiseRecords(device);
  const packs = [await packRecord(device, 'tiny-random', PACK_SEED), await packRecord(device, 'shapes', PACK_SEED)];
  return { record: { adapter, noise: records, packs }, wordsMatchCpu };
}

/** How far two stats are apart: the change of the sum, the sum of magnitudes and the largest magnitude. */
function deltas(g: Stats, w: Stats): string {
  const d = (a: number, b: number) => (a - b).toExponential(2);
  return `Δsum ${d(g.sum, w.sum)}, Δabs_sum ${d(g.absSum, w.absSum)}, Δmax|x| ${d(g.maxAbs, w.maxAbs)}`;
}

/** One line per compared item; `same` false when anything differs. */
export function compareHashes(got: HashRecord, want: HashRecord): { same: boolean; lines: string[] } {
  const lines: string[] = [];
  let same = true;
  for (const w of want.noise) {
    const g = got.noise.find((r) => r.seed === w.seed && r.count === w.count);
    if (!g) {
      same = false;
      lines.push(`noise seed ${w.seed}: missing`);
      continue;
    }
    const words = g.wordsSha256 === w.wordsSha256;
    const normals = g.normalsSha256 === w.normalsSha256;
    if (!words || !normals) same = false;
    const delta = normals ? '' : ` (${deltas(g.normalsStats, w.normalsStats)})`;
    lines.push(
      `noise seed ${w.seed}: words ${words ? 'same' : 'DIFFER'}, normals ${normals ? 'same' : 'DIFFER'}${delta}`,
    );
  }
  for (const w of want.packs) {
    const g = got.packs.find((p) => p.pack === w.pack && p.seed === w.seed && p.steps === w.steps);
    if (!g) {
      same = false;
      lines.push(`${w.pack}: missing`);
      continue;
    }
    const first = w.stages.findIndex((s, i) => g.stages[i]?.stage !== s.stage || g.stages[i]?.sha256 !== s.sha256);
    const png = g.stages.at(-1)?.sha256 === w.stages.at(-1)?.sha256;
    if (first < 0) {
      lines.push(`${w.pack} seed ${w.seed}: every stage the same (${w.stages.length}), preview image the same`);
      continue;
    }
    same = false;
    const ws = w.stages[first]!;
    const gs = g.stages[first];
    let by = '';
    if (ws.stats && gs?.stats) {
      by = ` by ${deltas(gs.stats, ws.stats)}`;
    }
    lines.push(
      `${w.pack} seed ${w.seed}: first differs at "${ws.stage}"${by}; ` +
        `preview image ${png ? 'still the same' : 'DIFFERS'}`,
    );
  }
  return { same, lines };
}
