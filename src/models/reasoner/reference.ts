/**
 * @file The CPU twin of the reasoner engine's forward (engine.ts on the shared decoder layer), composed of the
 * kernels' twins in the engine's op order: embed → per layer [rmsnorm, q/k/v (+ bias), RoPE on q and k, K/V into
 * the cache, causal attention over the cache, o_proj, residual, rmsnorm, gate/up, SwiGLU, down, residual] → final
 * norm → lm_head on the last row → greedy pick (highest logit, lowest id on a tie, as the `sample` kernel). Prefill,
 * then greedy decode one token at a time with a K/V cache, like `engine.run(ids, N)` with temperature 0.
 *
 * The weights come from a getter by the names of `reasonerTensors(config)` in any stored format; a matrix is
 * dequantised a block of rows at a time (`matmulRef` on `weightRows`), never whole, so a 0.5B model stays in its
 * packed form. Slow by design (loops, f64 sums): seconds per layer at real dimensions.
 */
import { attentionRef } from '../../kernels/attention.ref';
import { embedRef } from '../../kernels/embed.ref';
import { matmulRef, type LinearWeightData } from '../../kernels/matmul.ref';
import { rmsnormRef } from '../../kernels/rmsnorm.ref';
import { ropeRef } from '../../kernels/rope.ref';
import { swigluRef } from '../../kernels/swiglu.ref';
import { weightRows } from '../../kernels/weight_data';
import type { ReasonerConfig } from '../../packs/manifest';
import type { TensorGetter } from './random_pack';

/** Rows of a weight dequantised at once. */
const ROW_BLOCK = 1024;

/** y [M, w.out] = x [M, w.in] · wᵀ (+ bias), `matmulRef` over blocks of ROW_BLOCK rows. */
export function linearRef(x: Float32Array, M: number, w: LinearWeightData, bias?: Float32Array): Float32Array {
  const N = w.out;
  const K = w.in;
  const y = new Float32Array(M * N);
  for (let r0 = 0; r0 < N; r0 += ROW_BLOCK) {
    const r1 = Math.min(N, r0 + ROW_BLOCK);
    const part = matmulRef({ x, weight: weightRows(w, r0, r1), bias: bias?.subarray(r0, r1), M, K });
    for (let m = 0; m < M; m++) y.set(part.subarray(m * (r1 - r0), (m + 1) * (r1 - r0)), m * N + r0);
  }
  return y;
}

/** One greedy step's pick: the id, its logit and the runner-up's (for the margin that makes a check meaningful). */
export interface GreedyPick {
  id: number;
  top1: number;
  top2: number;
}

/** The `sample` kernel's greedy order on one row: highest logit, lowest id among equals. */
export function greedyPick(logits: Float32Array): GreedyPick {
  let id = 0;
  let top1 = -Infinity;
  let top2 = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > top1) {
      top2 = top1;
      top1 = v;
      id = i;
    } else if (v > top2) top2 = v;
  }
  return { id, top1, top2 };
}

export interface ReferenceRun {
  /** The greedy ids, as `engine.run(promptIds, maxNew)` draws them. */
  ids: number[];
  picks: GreedyPick[];
  /** The logits of the prompt's last row (what the engine's `readLogits()` returns after the prefill). */
  prefillLogits: Float32Array;
  /** The logits of the last step (the draw of the last id). */
  lastLogits: Float32Array;
}

/**
 * Greedy generation of `maxNew` tokens after `promptIds` on the CPU. `onStep(s, ms)` reports each step's time
 * (step 0 is the prefill).
 */
export function reasonerReference(
  c: ReasonerConfig,
  get: TensorGetter,
  promptIds: readonly number[],
  maxNew: number,
  onStep?: (step: number, ms: number) => void,
): ReferenceRun {
  const Hd = c.hidden_size;
  const H = c.num_attention_heads;
  const KV = c.num_key_value_heads;
  const D = c.head_dim;
  const cap = promptIds.length + maxNew;
  const mat = (name: string) => get(name) as LinearWeightData;
  const vec = (name: string) => get(name) as Float32Array;
  const cacheK = Array.from({ length: c.num_hidden_layers }, () => new Float32Array(cap * KV * D));
  const cacheV = Array.from({ length: c.num_hidden_layers }, () => new Float32Array(cap * KV * D));
  const embedTable = mat('embed_tokens.weight');
  const lmHead = c.tie_word_embeddings ? embedTable : mat('lm_head.weight');

  /** The rows `ids` at positions at…, through every layer; returns the last row's logits. */
  const forward = (ids: readonly number[], at: number): Float32Array => {
    const R = ids.length;
    // The embedding, a block of rows dequantised per token (never the whole table).
    const x = new Float32Array(R * Hd);
    ids.forEach((id, r) => {
      const row = weightRows(embedTable, id, id + 1);
      x.set(embedRef({ table: row, ids: Uint32Array.of(0), rows: 1, dim: Hd, vocab: 1 }), r * Hd);
    });
    const pos = Uint32Array.from({ length: R }, (_, i) => at + i);
    const add = (t: Float32Array) => {
      for (let i = 0; i < x.length; i++) x[i] = x[i]! + t[i]!;
    };
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `layers.${l}`;
      const bias = (n: string) => (c.attention_bias ? vec(`${p}.self_attn.${n}_proj.bias`) : undefined);
      const normed = rmsnormRef({
        x,
        weight: vec(`${p}.input_layernorm.weight`),
        rows: R,
        dim: Hd,
        eps: c.rms_norm_eps,
      });
      const proj = (n: string) => linearRef(normed, R, mat(`${p}.self_attn.${n}_proj.weight`), bias(n));
      const q = ropeRef(proj('q'), pos, { tokens: R, heads: H, headDim: D, theta: c.rope_theta });
      const k = ropeRef(proj('k'), pos, { tokens: R, heads: KV, headDim: D, theta: c.rope_theta });
      cacheK[l]!.set(k, at * KV * D);
      cacheV[l]!.set(proj('v'), at * KV * D);
      const attn = attentionRef({
        seqQ: R,
        seqK: 0,
        headsQ: H,
        headsKV: KV,
        headDim: D,
        mask: 'causal',
        cacheLens: at + R,
        cacheCapacity: cap,
        qOffset: at,
        q,
        k: new Float32Array(0),
        v: new Float32Array(0),
        cacheK: cacheK[l],
        cacheV: cacheV[l],
      });
      add(linearRef(attn, R, mat(`${p}.self_attn.o_proj.weight`)));
      const n2 = rmsnormRef({
        x,
        weight: vec(`${p}.post_attention_layernorm.weight`),
        rows: R,
        dim: Hd,
        eps: c.rms_norm_eps,
      });
      const gate = linearRef(n2, R, mat(`${p}.mlp.gate_proj.weight`));
      const up = linearRef(n2, R, mat(`${p}.mlp.up_proj.weight`));
      const I = c.intermediate_size;
      // The fused [gate | up] rows the swiglu kernel reads.
      const gu = new Float32Array(R * 2 * I);
      for (let r = 0; r < R; r++) {
        gu.set(gate.subarray(r * I, (r + 1) * I), r * 2 * I);
        gu.set(up.subarray(r * I, (r + 1) * I), r * 2 * I + I);
      }
      add(linearRef(swigluRef({ x: gu, rows: R, inter: I }), R, mat(`${p}.mlp.down_proj.weight`)));
    }
    const last = x.subarray((R - 1) * Hd, R * Hd);
    const normed = rmsnormRef({ x: last, weight: vec('norm.weight'), rows: 1, dim: Hd, eps: c.rms_norm_eps });
    return linearRef(normed, 1, lmHead);
  };

  const time = (step: number, f: () => Float32Array): Float32Array => {
    const t0 = performance.now();
    const r = f();
    onStep?.(step, performance.now() - t0);
    return r;
  };
  const prefillLogits = time(0, () => forward(promptIds, 0));
  const picks = [greedyPick(prefillLogits)];
  let lastLogits = prefillLogits;
  for (let s = 0; s + 1 < maxNew; s++) {
    lastLogits = time(s + 1, () => forward([picks[s]!.id], promptIds.length + s));
    picks.push(greedyPick(lastLogits));
  }
  return { ids: picks.map((p) => p.id), picks, prefillLogits, lastLogits };
}
