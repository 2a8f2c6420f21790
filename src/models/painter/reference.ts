/**
 * @file The reference painter: the pack's exported `onnx/painter.onnx` (connector + DiT in one graph) through
 * onnxruntime-web, recomputing the whole sequence at every step, one run per CFG branch, with the CFG combine and
 * the Euler step on the CPU — the way the onnxruntime SD-Turbo web demo drives its UNet. It is the WASM fallback and
 * the baseline our engine is measured and checked against.
 */
import type { BackendChoice } from '../../runtime/backend';
import { cpuTensor, createSession, run, type OrtSession } from '../../runtime/ort';
import type { PackSource } from '../../packs/source';
import { RgError } from '../../errors';

const f = Math.fround;

export class ReferencePainter {
  private constructor(
    private readonly session: OrtSession,
    readonly hidden: number,
    readonly channels: number,
  ) {}

  static async load(source: PackSource, choice: BackendChoice): Promise<ReferencePainter> {
    const m = await source.manifest();
    if (!m.paths.painter_onnx) throw new RgError('INTEGRITY', `pack ${m.id} has no painter.onnx (needed on WASM)`);
    const bytes = await source.file(m.paths.painter_onnx);
    const s = await createSession(bytes, { backend: choice.backend, device: choice.device, label: 'painter.onnx' });
    return new ReferencePainter(s, m.connector?.input_size ?? m.painter.hidden_size, m.painter.latent_channels);
  }

  /** velocity [1, C, h, w] of one branch (condition [rows, hidden] before the connector). */
  async velocity(
    cond: Float32Array,
    rows: number,
    z: Float32Array,
    h: number,
    w: number,
    t: number,
  ): Promise<Float32Array> {
    const out = (
      await run(this.session, {
        condition: cpuTensor('float32', cond, [1, rows, this.hidden]),
        latents: cpuTensor('float32', z, [1, this.channels, h, w]),
        timestep: cpuTensor('float32', new Float32Array([t]), [1]),
      })
    ).velocity;
    if (!out) throw new RgError('RUNTIME', 'painter.onnx returned no velocity');
    try {
      return (out.location === 'cpu' ? out.data : await out.getData()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** In place: z += dt · (v_u + g · (v_c − v_u)) in f32 (v_u omitted: z += dt · v_c). */
export function cfgEulerCpu(z: Float32Array, vc: Float32Array, vu: Float32Array | null, g: number, dt: number): void {
  const gf = f(g);
  for (let k = 0; k < z.length; k++) {
    const v = vu ? f(vu[k]! + f(gf * f(vc[k]! - vu[k]!))) : vc[k]!;
    z[k] = f(z[k]! + f(dt * v));
  }
}
