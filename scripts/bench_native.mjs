#!/usr/bin/env node
// npm run bench:native [-- OPTIONS]: builds src/bench/native/main.ts into one Node script (dist/native/
// bench_native.mjs: the same kernels, shaders (`?raw` imports) and engines as the browser, bundled by Vite; the
// package `webgpu` stays external) and runs it on a Dawn device with the environment of bench_native_env.mjs.
// OPTIONS go to the script (see its header: --sizes, --max-bytes, --reps, --only, --out, …); `--build-only` only
// builds. Exit status: the script's (the number of cases skipped or failed).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { nativeEnv } from './bench_native_env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const OUT_DIR = 'dist/native';
export const SCRIPT = 'bench_native.mjs';

/** Builds the native harness into dist/native/bench_native.mjs. */
export async function buildNative() {
  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    build: {
      ssr: 'src/bench/native/main.ts',
      outDir: OUT_DIR,
      emptyOutDir: true,
      target: 'node20',
      minify: false,
      sourcemap: false,
      rolldownOptions: { output: { entryFileNames: SCRIPT, codeSplitting: false } },
    },
    ssr: { noExternal: true, external: ['webgpu'], target: 'node' },
  });
  return `${root}${OUT_DIR}/${SCRIPT}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const script = await buildNative();
  if (args.includes('--build-only')) {
    console.log(`built ${script}`);
    process.exit(0);
  }
  const r = spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...nativeEnv() },
  });
  process.exit(r.status ?? 1);
}
