/**
 * The run requests' reasoner weight format (`reasonerWeights`), checked on the CPU before any GPU work: the allowed
 * values, what the pack can give (its variants, or any of them made from its f32 file), the default, and where the
 * choice goes (the paint settings recorded in history and PNG tEXt, the memory plan's choice).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { RgError } from '../../../src/errors';
import { parseManifest, type Manifest } from '../../../src/packs/manifest';
import { REASONER_WEIGHTS, resolveReasonerWeights, runPlanChoice } from '../../../src/pipeline/reason';
import { resolvePaintSettings } from '../../../src/pipeline/paint';

// The pipelines' request checks are real here; the GPU models they import are stubbed out for Node (as in
// rgpo.test.ts). The engine side of the choice runs in tests/gpu/models/reasoner_weights.test.ts.
vi.mock('../../../src/models/reasoner', () => ({}));
vi.mock('../../../src/models/painter', () => ({}));

const dir = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));
const tiny = parseManifest(JSON.parse(readFileSync(dir + 'manifest.json', 'utf8')));

/** tiny-random with other reasoner weight paths. */
function withReasonerWeights(paths: Manifest['paths']['reasoner_weights']): Manifest {
  const m = structuredClone(tiny);
  if (paths === undefined) delete m.paths.reasoner_weights;
  else m.paths.reasoner_weights = paths;
  return m;
}

function refusal(f: () => unknown): RgError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RgError);
    return e as RgError;
  }
  throw new Error('accepted');
}

describe('reasonerWeights on a run request', () => {
  it('takes every format from an f32 file; default f32', () => {
    expect(REASONER_WEIGHTS).toEqual(['f32', 'f16', 'bf16', 'int8', 'int4']);
    for (const w of REASONER_WEIGHTS) expect(resolveReasonerWeights({ reasonerWeights: w }, tiny)).toBe(w);
    expect(resolveReasonerWeights({}, tiny)).toBe('f32');
  });

  it('refuses a value not in the list with BAD_INPUT naming the field and the allowed values', () => {
    for (const bad of ['fp16', 'INT8', '', 8, null]) {
      const e = refusal(() => resolveReasonerWeights({ reasonerWeights: bad as never }, tiny));
      expect(e).toMatchObject({ code: 'BAD_INPUT', field: 'reasonerWeights' });
      expect(e.message).toBe(`reasonerWeights must be one of f32, f16, bf16, int8, int4, got ${String(bad)}`);
    }
  });

  it('a pack without an f32 file: only what it ships, default its only variant', () => {
    const int4Only = withReasonerWeights({ int4: 'reasoner.int4.safetensors' });
    expect(resolveReasonerWeights({}, int4Only)).toBe('int4');
    expect(resolveReasonerWeights({ reasonerWeights: 'int4' }, int4Only)).toBe('int4');
    const e = refusal(() => resolveReasonerWeights({ reasonerWeights: 'int8' }, int4Only));
    expect(e).toMatchObject({ code: 'BAD_INPUT', field: 'reasonerWeights' });
    expect(e.message).toContain('no int8 reasoner weights and no f32 file to make them from (it has: int4)');
    const onnxOnly = withReasonerWeights(undefined);
    expect(resolveReasonerWeights({}, onnxOnly)).toBe('f32');
    expect(refusal(() => resolveReasonerWeights({ reasonerWeights: 'int4' }, onnxOnly))).toMatchObject({
      field: 'reasonerWeights',
    });
  });

  it('is part of the paint settings (history, PNG tEXt) and refused there before any work', () => {
    const req = { runId: 'r', pack: tiny.id, reasonerWeights: 'int8' as const };
    expect(resolvePaintSettings(tiny, req, false).reasonerWeights).toBe('int8');
    expect(resolvePaintSettings(tiny, { runId: 'r', pack: tiny.id }, true).reasonerWeights).toBe('f32');
    const e = refusal(() => resolvePaintSettings(tiny, { ...req, reasonerWeights: 'q4' as never }, false));
    expect(e).toMatchObject({ code: 'BAD_INPUT', field: 'reasonerWeights' });
  });

  it('goes into the memory plan’s choice', () => {
    expect(runPlanChoice(128, 10, 20, undefined, 'int8')).toEqual({
      context: 30,
      prefillRows: 10,
      painter: false,
      reasonerPrecision: 'int8',
    });
    expect(runPlanChoice(128, 10, 20)).not.toHaveProperty('reasonerPrecision');
  });
});
