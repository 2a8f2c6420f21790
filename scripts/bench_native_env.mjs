// The environment Dawn (the npm package `webgpu`) needs on a machine without a GPU driver: a Vulkan loader
// (libvulkan.so.1: the system's, else the copy Debian's Chromium ships) and SwiftShader's Vulkan ICD from Chromium
// (Debian's lavapipe does not work with Dawn here). Used by scripts/bench_native.mjs and the vitest project `native`.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LOADER_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/lib/chromium',
];

/** A folder holding libvulkan.so.1, or null (the dynamic linker's cache is asked first). */
export function vulkanLoaderDir() {
  try {
    const cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /libvulkan\.so\.1 .*=> (\S+)\/libvulkan\.so\.1/.exec(cache);
    if (m) return m[1];
  } catch {
    // no ldconfig: look in the usual folders
  }
  return LOADER_DIRS.find((d) => existsSync(`${d}/libvulkan.so.1`)) ?? null;
}

/**
 * Variables to add to the environment of a process that creates a Dawn device: LD_LIBRARY_PATH gains the loader's
 * folder when the system has none, and VK_ICD_FILENAMES points at SwiftShader unless an ICD is already chosen
 * (VK_ICD_FILENAMES / VK_DRIVER_FILES set) or RG_NATIVE_ICD=system asks for the system's drivers.
 */
export function nativeEnv(env = process.env) {
  /** @type {Record<string, string>} */
  const out = {};
  const dir = vulkanLoaderDir();
  if (dir && !['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].includes(dir)) {
    out.LD_LIBRARY_PATH = [dir, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && env.RG_NATIVE_ICD !== 'system' && existsSync(SWIFTSHADER_ICD)) {
    out.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  return out;
}
