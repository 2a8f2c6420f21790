/**
 * @file The self-test that proves our kernels and onnxruntime-web share one device: our `fill` pass writes a
 * storage buffer, an ORT session (Y = 2X + 1, a graph built in code) reads that very buffer as its input tensor.
 * On WASM the same graph runs on a CPU tensor with the same values.
 */
import type { BackendChoice } from './backend';
import type { Backend } from './ort';
import { GpuBatch } from '../gpu/batch';
import { emptyBuffer } from '../gpu/readback';
import { fill } from '../kernels/fill';
import { fillRef } from '../kernels/fill.ref';
import { affineModel } from './onnx_graph';
import { cpuTensor, createSession, gpuTensor, run } from './ort';

/** The result of the self-test that proves our kernels and onnxruntime-web share one device. */
export interface SelfTestResult {
  backend: Backend;
  input: number[];
  output: number[];
  ok: boolean;
}

const N = 8;

/** Runs the self-test on `choice` and checks ORT's output against the CPU twin. */
export async function runSelfTest(choice: BackendChoice, n = N): Promise<SelfTestResult> {
  const session = await createSession(affineModel(), {
    backend: choice.backend,
    device: choice.device,
    label: 'self-test graph',
  });
  const input = fillRef({ n, a: 0.5, b: -1 });
  let x: GPUBuffer | undefined;
  try {
    let feed;
    if (choice.device) {
      x = emptyBuffer(choice.device, n * 4, 'self-test input');
      const batch = new GpuBatch(choice.device, 'self-test');
      fill(batch, { out: x, n, a: 0.5, b: -1 });
      batch.submit();
      feed = gpuTensor(x, [n]);
    } else {
      feed = cpuTensor('float32', input, [n]);
    }
    const out = await run(session, { X: feed });
    const y = (await out.Y!.getData()) as Float32Array;
    out.Y!.dispose();
    const output = Array.from(y);
    const ok = output.length === n && output.every((v, i) => v === 2 * input[i]! + 1);
    return { backend: choice.backend, input: Array.from(input), output, ok };
  } finally {
    x?.destroy();
    await session.release();
  }
}
