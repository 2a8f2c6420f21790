/**
 * @file Uploads and readbacks. Readback copies into a MAP_READ staging buffer that is destroyed afterwards.
 */

export const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A new storage buffer holding `data` (padded to 4 bytes). The caller owns it. */
export function uploadBuffer(device: GPUDevice, data: ArrayBufferView, label = 'upload', usage = STORAGE): GPUBuffer {
  const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
  const buf = device.createBuffer({ label, size, usage, mappedAtCreation: true });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buf.unmap();
  return buf;
}

/** A new zero-filled storage buffer of `byteLength` bytes. The caller owns it. */
export function emptyBuffer(device: GPUDevice, byteLength: number, label = 'buffer', usage = STORAGE): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(4, Math.ceil(byteLength / 4) * 4), usage });
}

/** Reads `byteLength` bytes of `buffer` from `offset` back to the CPU (waits for queued work). */
export async function readBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  byteLength = buffer.size,
  offset = 0,
): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = device.createBuffer({
    label: 'readback',
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const enc = device.createCommandEncoder({ label: 'readback' });
    enc.copyBufferToBuffer(buffer, offset, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, byteLength);
  } finally {
    staging.destroy();
  }
}

export async function readF32(
  device: GPUDevice,
  buffer: GPUBuffer,
  count?: number,
  offsetElems = 0,
): Promise<Float32Array> {
  const n = count ?? buffer.size / 4 - offsetElems;
  return new Float32Array(await readBuffer(device, buffer, n * 4, offsetElems * 4));
}

export async function readU32(
  device: GPUDevice,
  buffer: GPUBuffer,
  count?: number,
  offsetElems = 0,
): Promise<Uint32Array> {
  const n = count ?? buffer.size / 4 - offsetElems;
  return new Uint32Array(await readBuffer(device, buffer, n * 4, offsetElems * 4));
}
