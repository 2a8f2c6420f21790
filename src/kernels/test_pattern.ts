/** @file test_pattern: an RGBA8 gradient drawn on the GPU, shown on the first screen to prove the pixel path. */
import type { GpuBatch } from '../gpu/batch';
import code from '../../shaders/test_pattern.wgsl?raw';
import { needBytes, needCount } from './dispatch';

export function testPattern(batch: GpuBatch, args: { out: GPUBuffer; width: number; height: number }): void {
  needCount('test_pattern', 'width', args.width);
  needCount('test_pattern', 'height', args.height);
  needBytes('test_pattern', 'out', args.out, args.width * args.height * 4);
  const u = new Uint32Array([args.width, args.height]);
  batch.dispatch(
    batch.pipeline('test_pattern', code),
    [args.out, batch.uniform(u)],
    [Math.ceil(args.width / 16), Math.ceil(args.height / 16)],
  );
}
