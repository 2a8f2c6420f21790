// The native harness in CI: the same kernels and engines as the browser on a Dawn device in Node (SwiftShader's
// Vulkan ICD here), at tiny sizes. Every tiny case's output is checked against its CPU twin (matmul.ref, attention.ref)
// or the PyTorch fixture (the reasoner's greedy tokens), and the determinism record (noise words and normals, the
// tiny-random and shapes painter stages and preview) must equal the committed SwiftShader hashes. No adapter is a
// failure with the reason, never a skip.
import '../../src/bench/native/globals';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNativeGpu, type NativeGpu } from '../../src/bench/native/device';
import { repoJson } from '../../src/bench/native/data';
import type { HashRecord } from '../../src/bench/native/determinism';
import { allCases, runNative, type NativeReport } from '../../src/bench/native/run';

let gpu: NativeGpu;
let report: NativeReport;
const lines: string[] = [];

beforeAll(async () => {
  gpu = await createNativeGpu();
  const hashes = repoJson<HashRecord>('tests/fixtures/native/hashes.json');
  report = await runNative(gpu.device, gpu.summary, {
    sizes: 'tiny',
    maxBytes: 256 << 20,
    reps: 1,
    hashes,
    log: (l) => lines.push(l),
  });
  console.log(lines.join('\n'));
}, 600_000);

afterAll(() => gpu?.release());

it('runs every tiny case: outputs equal the CPU twins and fixtures; only cases lacking a feature are skipped', () => {
  const tiny = allCases().filter((c) => c.preset === 'tiny');
  expect(report.cases.map((c) => c.name)).toEqual(tiny.map((c) => c.name));
  for (const c of report.cases) {
    const spec = tiny.find((t) => t.name === c.name)!;
    if (c.status === 'skipped') {
      const missing = (spec.needs ?? []).filter((f) => !gpu.device.features.has(f));
      expect(missing.length, `${c.name} skipped: ${c.reason}`).toBeGreaterThan(0);
      expect(c.reason).toContain(missing[0]);
      continue;
    }
    expect(c.status, `${c.name}: ${c.reason ?? c.checks?.map((k) => k.detail).join('; ')}`).toBe('ok');
    expect(c.ms).toBeGreaterThan(0);
    expect(c.bytes).toBeGreaterThan(0);
    expect(c.flops).toBeGreaterThan(0);
  }
  // The kernel and reasoner cases carry checks; each passed.
  const checked = report.cases.filter(
    (c) => c.status === 'ok' && (c.group === 'matmul' || c.group === 'attention' || c.group === 'reasoner'),
  );
  expect(checked.length).toBeGreaterThanOrEqual(12);
  for (const c of checked) {
    expect(c.checks!.length, c.name).toBeGreaterThan(0);
    expect(
      c.checks!.every((k) => k.ok),
      c.name,
    ).toBe(true);
  }
  // The roofline shares say "n/a" on a software adapter.
  if (!report.roofline) for (const c of checked) expect(c.bandwidthShare).toBe('n/a');
});

it('gives the committed SwiftShader hashes: noise words (= CPU Philox), normals, painter stages, preview', () => {
  const d = report.determinism!;
  expect(d.wordsMatchCpu).toBe(true);
  expect(d.record.packs.map((p) => p.pack)).toEqual(['tiny-random', 'shapes']);
  for (const p of d.record.packs)
    expect(p.stages.map((s) => s.stage)).toEqual(['noise', 'step 1', 'step 2', 'step 3', 'step 4', 'preview rgba8']);
  expect(d.same, d.lines.join('\n')).toBe(true);
});
