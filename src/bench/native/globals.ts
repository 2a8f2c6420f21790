/**
 * @file Installs Dawn's WebGPU globals (GPUBufferUsage, GPUMapMode, GPUShaderStage, …) on globalThis. Import it
 * before any module of src/gpu or src/kernels: some read those globals when they are first evaluated.
 */
import { globals } from 'webgpu';

Object.assign(globalThis, globals);
