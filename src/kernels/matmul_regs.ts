/**
 * @file The register-blocked matmul kernel (`regs`), generated: each invocation computes RM rows × RN columns of
 * y = act(x · Wᵀ + bias) in named scalar registers, walking K in steps of 32 elements (one int4 block) with x and
 * the weights read as vec4 words, and no workgroup memory, barriers or private arrays. The loops over rows, columns
 * and the 8 vec4 of a step are unrolled here, in TypeScript, into straight-line WGSL.
 *
 * Why it exists: on a fallback (CPU) adapter such as SwiftShader, a private array indexed in a loop (the tiled
 * kernel's accumulators, `unpack_word`'s result) lives in memory, each access a per-lane gather, and every barrier
 * switches between the workgroup's SIMD groups; at OmniGen's shape (M 128, K 3,072, N 3,072, int4) the tiled kernel
 * ran at 0.21 GMAC/s there and this one at 2.1–2.5 (docs/benchmarks.md). On a GPU the tiled kernel's workgroup
 * tiles are what make it fast, so `decodeMatmulVariant` chooses this one only on a fallback adapter.
 *
 * Needs K a multiple of 32 (every row then starts on a vec4 word in every format); the wrapper keeps the tiled
 * kernel for other K. The bindings are those of the other kernels (matmul_out.wgsl's output side), with the inputs
 * declared as vec4 words: x as vec4<f32>, the weights as vec4<u32>.
 */
import fns from '../../shaders/gelu_fns.wgsl?raw';
import out from '../../shaders/matmul_out.wgsl?raw';
import type { WeightFormat } from './matmul';

/** K must be a multiple of this (one int4 block, and a whole number of vec4 words per row in every format). */
export const REGS_K_MULTIPLE = 32;
/** Invocations per workgroup. */
export const REGS_WG = 64;

/** Rows × columns per invocation. */
export interface RegsBlock {
  RM: number;
  RN: number;
}

/** Above this many multiply-adds a product takes the larger block (4 × 8): its extra compile time then pays. */
export const REGS_LARGE_MACS = 1 << 26;

/**
 * The block for an M × N × K product. Decode rows (M ≤ 4): 1 × 4 (M 1, K 3,072, N 4,864 int4 on SwiftShader: 1 × 4,
 * 1 × 8 and 1 × 16 all ran in 23–24 ms; 1 × 4 compiles in 0.3–0.4 s; `dot` took 181 ms). Above: 4 × 8 for large
 * products (M 128, K 3,072, N 3,072 int4: 2.1 GMAC/s against 1.5 for 4 × 4; 8 × 8 gained 15 % more but compiles in
 * 2.4 s), 4 × 4 below REGS_LARGE_MACS, where the work is milliseconds and the compile is what counts (4 × 4 compiles
 * in 0.6–1.0 s, 4 × 8 in 1.9–2.2 s, the tiled kernel's 32 × 32 in 0.7–0.9 s; one pipeline per format and block).
 */
export function regsBlock(M: number, N: number, K: number): RegsBlock {
  if (M <= 4) return { RM: 1, RN: 4 };
  return M * N * K >= REGS_LARGE_MACS ? { RM: 4, RN: 8 } : { RM: 4, RN: 4 };
}

/** vec4<u32> words of the weight per 32-element step of a row, by format. */
const STEP_WORDS: Record<WeightFormat, number> = { f32: 8, f16: 4, bf16: 4, int8: 2, int4: 1 };

/**
 * WGSL lines decoding column `j`'s step (the vec4 words q{j}_* read for step b) into v{j}_0 … v{j}_7, the vec4s of its
 * 32 weights in K order. int8's per-row scale is applied once to the sum instead (see `finish`).
 */
function decode(format: WeightFormat, j: number): string[] {
  const L: string[] = [];
  for (let t = 0; t < 8; t++) {
    const name = `v${j}_${t}`;
    switch (format) {
      case 'f32':
        L.push(`let ${name} = bitcast<vec4<f32>>(q${j}_${t});`);
        break;
      case 'f16': {
        const q = `q${j}_${t >> 1}`;
        const [a, b] = t & 1 ? ['z', 'w'] : ['x', 'y'];
        L.push(`let ${name} = vec4<f32>(unpack2x16float(${q}.${a}), unpack2x16float(${q}.${b}));`);
        break;
      }
      case 'bf16': {
        const q = `q${j}_${t >> 1}`;
        const [a, b] = t & 1 ? ['z', 'w'] : ['x', 'y'];
        L.push(`let ${name} = bf16x4(${q}.${a}, ${q}.${b});`);
        break;
      }
      case 'int8':
        L.push(`let ${name} = i8x4(q${j}_${t >> 2}[${t & 3}]);`);
        break;
      case 'int4':
        L.push(`let ${name} = i4x4(q${j}_0[${t >> 1}], ${(t & 1) * 16}u, s${j});`);
        break;
    }
  }
  return L;
}

/** The WGSL of the regs kernel for one weight format and block (RM × RN outputs per invocation). */
export function matmulRegsCode(format: WeightFormat, { RM, RN }: RegsBlock): string {
  const words = STEP_WORDS[format];
  const L: string[] = [
    fns,
    out,
    '@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;',
    '@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;',
    '@group(0) @binding(2) var<storage, read> wscale: array<f32>;',
    '',
    '// bf16 pairs: element 2m in the low half; a bf16 is the top half of an f32',
    'fn bf16x4(a: u32, b: u32) -> vec4<f32> {',
    '  return bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xffff0000u, b << 16u, b & 0xffff0000u));',
    '}',
    '// int8: four signed bytes, element 4m in bits 0..7 (shifted up, then arithmetically down)',
    'fn i8x4(word: u32) -> vec4<f32> {',
    '  return vec4<f32>((vec4<i32>(bitcast<i32>(word)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));',
    '}',
    '// int4: the four nibbles from bit o of a word, stored as q + 8, times the block scale',
    'fn i4x4(word: u32, o: u32, s: f32) -> vec4<f32> {',
    '  let q = (vec4<u32>(word) >> vec4<u32>(o, o + 4u, o + 8u, o + 12u)) & vec4<u32>(15u);',
    '  return (vec4<f32>(q) - 8.0) * s;',
    '}',
    '',
    `@compute @workgroup_size(${REGS_WG})`,
    'fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {',
    `  let col_groups = (p.N + ${RN - 1}u) / ${RN}u;`,
    `  let idx = gid.x + gid.y * nwg.x * ${REGS_WG}u;`,
    `  let m0 = (idx / col_groups) * ${RM}u;`,
    `  let n0 = (idx % col_groups) * ${RN}u;`,
    ...(format === 'int4' || format === 'int8' ? [] : ['  _ = &wscale; // bound for every format (one layout)']),
    '  if (m0 >= p.M) {',
    '    return;',
    '  }',
    '  let steps = p.K / 32u;',
    '  // vec4 words per row of x and of W (rows past the end read the last one; their outputs are not written)',
    '  let xrow = p.K / 4u;',
    `  let wrow = steps * ${words}u;`,
  ];
  for (let i = 0; i < RM; i++) L.push(`  let r${i} = min(m0 + ${i}u, p.M - 1u) * xrow;`);
  for (let j = 0; j < RN; j++) L.push(`  let c${j} = min(n0 + ${j}u, p.N - 1u);`);
  for (let i = 0; i < RM; i++) for (let j = 0; j < RN; j++) L.push(`  var a${i}_${j} = 0.0;`);
  L.push('  for (var b = 0u; b < steps; b++) {');
  for (let i = 0; i < RM; i++) {
    for (let t = 0; t < 8; t++) L.push(`    let x${i}_${t} = x[r${i} + b * 8u + ${t}u];`);
  }
  for (let j = 0; j < RN; j++) {
    L.push('    {');
    for (let u = 0; u < words; u++) L.push(`      let q${j}_${u} = w[c${j} * wrow + b * ${words}u + ${u}u];`);
    if (format === 'int4') L.push(`      let s${j} = wscale[c${j} * steps + b];`);
    for (const line of decode(format, j)) L.push(`      ${line}`);
    for (let i = 0; i < RM; i++) {
      const terms = Array.from({ length: 8 }, (_, t) => `dot(x${i}_${t}, v${j}_${t})`);
      L.push(`      a${i}_${j} += ${terms.slice(0, 4).join(' + ')};`);
      L.push(`      a${i}_${j} += ${terms.slice(4).join(' + ')};`);
    }
    L.push('    }');
  }
  L.push('  }');
  for (let j = 0; j < RN; j++) {
    if (format === 'int8') L.push(`  let s${j} = wscale[c${j}];`);
    for (let i = 0; i < RM; i++) {
      const acc = format === 'int8' ? `a${i}_${j} * s${j}` : `a${i}_${j}`;
      L.push(
        `  if (m0 + ${i}u < p.M && n0 + ${j}u < p.N) {`,
        `    y[y_index(m0 + ${i}u, n0 + ${j}u)] = epilogue(${acc}, n0 + ${j}u);`,
        '  }',
      );
    }
  }
  L.push('}', '');
  return L.join('\n');
}

/** Workgroups of a regs dispatch for an M × N output: [x, y] with x ≤ 65,535 (the linear index spans both). */
export function regsGroups(M: number, N: number, { RM, RN }: RegsBlock): [number, number] {
  const groups = Math.ceil((Math.ceil(M / RM) * Math.ceil(N / RN)) / REGS_WG);
  const gx = Math.min(groups, 65_535);
  return [gx, Math.ceil(groups / gx)];
}
