#!/usr/bin/env node
// npm run bench:bundle: a folder (bench-bundle/, gitignored) that runs the native harness on a Linux x86-64 GPU
// machine with no Node, no npm and no network, carried beside the tracked tree (the shipped packs and the committed
// hashes are read from the tree): the built script, Dawn's dawn.node and this Node binary (both xz-compressed), the
// webgpu package's loader (index.js), the Vulkan loader libvulkan.so.1, libglvnd's libraries (gl/, Debian's .deb
// files: the NVIDIA ICD's libGLX_nvidia.so.0 loads only with them, and a bare machine may lack them), and run.sh,
// the one command:
//   sh bench-bundle/run.sh [harness options]   (from the repository root; writes $OUT/report.json and $OUT/log.txt)
// Prints the bundle's size and, with the tracked tree, checks it against the 64 MiB a device call carries.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from './bench_native.mjs';
import { vulkanLoaderDir } from './bench_native_env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'bench-bundle');
const cache = join(root, '.tmp', 'bench-bundle-cache');
const LIMIT = 64 * 1024 * 1024;

/** `src` xz-compressed into `dest`, reusing a cached copy keyed by `key` (compressing Node takes minutes). */
function xz(src, dest, key) {
  mkdirSync(cache, { recursive: true });
  const cached = join(cache, `${key}-${statSync(src).size}.xz`);
  if (!existsSync(cached)) {
    console.log(`compressing ${src} (xz; cached afterwards in .tmp/bench-bundle-cache)…`);
    execFileSync('sh', ['-c', `xz -T0 -6 -c "$0" > "$1.part" && mv "$1.part" "$1"`, src, cached], { stdio: 'inherit' });
  }
  copyFileSync(cached, dest);
}

const RUN_SH = `#!/bin/sh
# The native harness on this machine's GPU (see docs/benchmarks.md, "Native harness"): unpacks Node and Dawn into
# a temporary folder, points the Vulkan loader at the NVIDIA driver when no ICD is chosen, records nvidia-smi, runs
# every case (harness options pass through, e.g. --sizes real --reps 3) from the repository root and writes
# $OUT/report.json and $OUT/log.txt. Exit status: the harness's (cases skipped or failed; 126 = it could not start).
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="\${RG_ROOT:-$(cd "$HERE/.." && pwd)}"
OUT="\${OUT:-$HERE/out}"
mkdir -p "$OUT"
TMP="\${TMPDIR:-/tmp}/rg-bench-native"
W="$TMP/node_modules/webgpu"
mkdir -p "$W/dist/linux-x64"
unxz_to() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \\
    "$1" "$2"; fi
}
[ -x "$TMP/node" ] || { unxz_to "$HERE/node.xz" "$TMP/node" && chmod +x "$TMP/node"; } || exit 126
[ -f "$W/dist/linux-x64/dawn.node" ] || unxz_to "$HERE/dawn.node.xz" "$W/dist/linux-x64/dawn.node" || exit 126
cp "$HERE/webgpu/index.js" "$HERE/webgpu/package.json" "$W/"
cp "$HERE/libvulkan.so.1" "$W/dist/linux-x64/"
cp "$HERE/bench_native.mjs" "$TMP/"
# libglvnd (libGLdispatch.so.0 and friends), which the NVIDIA ICD's libGLX_nvidia.so.0 needs: when the machine has
# none, the carried Debian packages are unpacked under $TMP (nothing is written outside it) and put on the path.
GL=""
if ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch.so.0' && [ -d "$HERE/gl" ] && command -v dpkg-deb >/dev/null; then
  mkdir -p "$TMP/gl"
  for d in "$HERE"/gl/*.deb; do dpkg-deb -x "$d" "$TMP/gl"; done
  GL="$TMP/gl/usr/lib/x86_64-linux-gnu"
fi
if [ -z "\${VK_ICD_FILENAMES:-}" ] && [ -z "\${VK_DRIVER_FILES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \\
    /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES="$f" VK_ICD_FILENAMES="$f"; break; fi
  done
fi
export LD_LIBRARY_PATH="$HERE\${GL:+:$GL}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{ echo "VK_DRIVER_FILES=\${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=\${VK_ICD_FILENAMES:-} libglvnd: \${GL:-the machine's}"
  nvidia-smi 2>&1 || true; } > "$OUT/machine.txt"
cd "$ROOT" || exit 126
RG_ROOT="$ROOT" "$TMP/node" "$TMP/bench_native.mjs" --out "$OUT/report.json" "$@" > "$OUT/log.txt" 2>&1
rc=$?
cat "$OUT/log.txt"
echo "exit status $rc (cases skipped or failed; 126: the harness could not start)"
exit $rc
`;

function dirBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    n += e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

if (process.platform !== 'linux' || process.arch !== 'x64')
  throw new Error(`the bundle is for Linux x86-64; this is ${process.platform}-${process.arch}`);
const script = await buildNative();
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'webgpu'), { recursive: true });
copyFileSync(script, join(out, 'bench_native.mjs'));
const webgpu = join(root, 'node_modules', 'webgpu');
copyFileSync(join(webgpu, 'index.js'), join(out, 'webgpu', 'index.js'));
copyFileSync(join(webgpu, 'package.json'), join(out, 'webgpu', 'package.json'));
xz(join(webgpu, 'dist', 'linux-x64', 'dawn.node'), join(out, 'dawn.node.xz'), 'dawn.node');
xz(process.execPath, join(out, 'node.xz'), `node-${process.version}`);
const loader = vulkanLoaderDir();
if (!loader) throw new Error("no libvulkan.so.1 here (apt-get install libvulkan1, or install Debian's chromium)");
copyFileSync(join(loader, 'libvulkan.so.1'), join(out, 'libvulkan.so.1'));
// libglvnd's packages for amd64, downloaded from Debian's archive (the one network this machine reaches).
const GL_PACKAGES = ['libglvnd0', 'libglx0', 'libegl1', 'libgl1', 'libopengl0', 'libgles2'];
mkdirSync(join(out, 'gl'), { recursive: true });
try {
  const lists = join(cache, 'apt-lists');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  const o = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', `-oDir::State::Lists=${lists}`];
  execFileSync('apt-get', [...o, 'update'], { stdio: 'ignore' });
  execFileSync('apt-get', [...o, 'download', ...GL_PACKAGES], { cwd: join(out, 'gl'), stdio: 'ignore' });
} catch (e) {
  console.warn(
    `libglvnd packages not bundled (${e.message.split('\n')[0]}); on a machine without libglvnd the ` +
      'NVIDIA ICD will not load: see docs/benchmarks.md, "On an NVIDIA H200"',
  );
}
writeFileSync(join(out, 'run.sh'), RUN_SH);
chmodSync(join(out, 'run.sh'), 0o755);

const bundle = dirBytes(out);
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((f) => f && existsSync(join(root, f)))
  .reduce((a, f) => a + statSync(join(root, f)).size, 0);
const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
for (const f of readdirSync(out)) if (f !== 'webgpu') console.log(`  ${f}: ${mib(statSync(join(out, f)).size)}`);
console.log(
  `bench-bundle/: ${mib(bundle)} (libvulkan from ${loader}); ` +
    `with the tracked tree (${mib(tracked)}): ${mib(bundle + tracked)} of 64 MiB`,
);
console.log('run it: carry bench-bundle, then `sh bench-bundle/run.sh` from the repository root');
if (bundle + tracked > LIMIT) {
  console.error('over the 64 MiB a device call carries');
  process.exit(1);
}
