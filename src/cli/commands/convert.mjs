// @ts-check
// @file `rg convert`: a Hugging Face Qwen2-family checkpoint folder (or a repo id: checked on the Hub, downloaded
// into a cache with resume and sha256 checks by src/cli/hub_download.mjs, then converted) → our reasoner weights
// (src/convert/qwen2.ts), or
// MindOmni's folder (mllm/, image_decoder/, connector.safetensors, vae/) → reasoner and painter weights and the VAE's
// ONNX files (src/convert/mindomni.ts, src/convert/vae.ts), or, with --painter OmniGen-v1's folder, a Qwen2-family
// reasoner and OmniGen into one cascade pack (src/convert/cascade.ts): the converters the app runs, loaded through
// Vite's SSR loader so their TypeScript and shader imports resolve in Node; no browser. Reads each tensor by byte
// range from the files, writes through a temporary folder renamed into place at the end, so a refused or failed
// conversion leaves --out as it was.
import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../session.mjs';
import { ROOT } from '../app.mjs';
import { downloadHubFiles } from '../hub_download.mjs';

/** `owner/name[@revision]`: a --from that is no folder is read as a Hugging Face repo id. */
const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w./-]+)?$/;

/**
 * A CheckpointReader over a folder (src/convert/qwen2.ts).
 * @param {string} dir
 */
export function folderReader(dir) {
  return {
    /** @param {string} path */
    async size(path) {
      try {
        const s = await stat(join(dir, path));
        return s.isFile() ? s.size : null;
      } catch {
        return null;
      }
    },
    /** @param {string} path @param {number} begin @param {number} end */
    async read(path, begin, end) {
      const fh = await open(join(dir, path), 'r');
      try {
        const buf = new Uint8Array(end - begin);
        let at = 0;
        while (at < buf.length) {
          const { bytesRead } = await fh.read(buf, at, buf.length - at, begin + at);
          if (bytesRead === 0) break;
          at += bytesRead;
        }
        return at === buf.length ? buf : buf.subarray(0, at);
      } finally {
        await fh.close();
      }
    },
  };
}

/**
 * A ConvertSink writing files under `dir`.
 * @param {string} dir
 */
export function folderSink(dir) {
  return {
    /** @param {string} path */
    async create(path) {
      const file = join(dir, path);
      await mkdir(dirname(file), { recursive: true });
      const ws = createWriteStream(file);
      return {
        /** @param {Uint8Array} b */
        write: (b) =>
          new Promise((ok, fail) => {
            ws.write(b, (e) => (e ? fail(e) : ok(undefined)));
          }),
        close: () =>
          new Promise((ok, fail) => {
            ws.end((/** @type {Error | null | undefined} */ e) => (e ? fail(e) : ok(undefined)));
          }),
      };
    },
  };
}

/** The converter module, TypeScript compiled on the fly by Vite (closed after use). */
async function loadConverter() {
  const { createServer } = await import('vite');
  const server = await createServer({
    root: ROOT,
    configFile: join(ROOT, 'vite.config.ts'),
    logLevel: 'error',
    clearScreen: false,
    appType: 'custom',
    server: { middlewareMode: true, hmr: false, ws: false },
  });
  const mod = /** @type {typeof import('../../convert/qwen2')} */ (await server.ssrLoadModule('/src/convert/qwen2.ts'));
  const mindomni = /** @type {typeof import('../../convert/mindomni')} */ (
    await server.ssrLoadModule('/src/convert/mindomni.ts')
  );
  const hub = /** @type {typeof import('../../convert/hub')} */ (await server.ssrLoadModule('/src/convert/hub.ts'));
  const cascade = /** @type {typeof import('../../convert/cascade')} */ (
    await server.ssrLoadModule('/src/convert/cascade.ts')
  );
  return { mod, mindomni, hub, cascade, close: () => server.close() };
}

/**
 * @param {import('../args.mjs').ConvertCommand} cmd
 * @param {import('../session.mjs').Io} io
 * @returns {Promise<number>} the exit status
 */
export async function convert(cmd, io) {
  let from = resolve(cmd.from);
  const out = resolve(cmd.out);
  const folder = existsSync(from) && statSync(from).isDirectory();
  const repo = !folder && REPO_ID.test(cmd.from);
  if (!folder && !repo) {
    io.err.write(`rg: --from ${cmd.from}: no such folder (nor a Hugging Face repo id, owner/name[@revision])\n`);
    return EXIT_USAGE;
  }
  if (existsSync(out) && (!statSync(out).isDirectory() || (readdirSync(out).length > 0 && !cmd.force))) {
    io.err.write(`rg: --out ${cmd.out} exists and is not an empty folder (--force replaces it)\n`);
    return EXIT_USAGE;
  }
  const painterDir = cmd.painter === undefined ? null : resolve(cmd.painter);
  if (painterDir && !(existsSync(painterDir) && statSync(painterDir).isDirectory())) {
    io.err.write(`rg: --painter ${cmd.painter}: no such folder (OmniGen-v1's folder is expected)\n`);
    return EXIT_USAGE;
  }
  if (painterDir && existsSync(join(from, 'image_decoder', 'config.json'))) {
    io.err.write(
      `rg: --painter goes with a Qwen2-family --from folder; ${cmd.from} is MindOmni's, which paints itself\n`,
    );
    return EXIT_USAGE;
  }
  const tmp = `${out}.partial-${process.pid}`;
  const { mod, mindomni, hub, cascade, close } = await loadConverter();
  /** What names a converted MindOmni pack: where it came from, and the Hub card's licence when it was read. */
  const pack = { source: basename(from), licence: /** @type {string | undefined} */ (undefined) };
  try {
    if (repo) {
      // Checked on the Hub first (files, configs, tensor headers: no weights), then downloaded into the cache.
      const address = process.env.RG_HUB ?? hub.HUB;
      // Gated and private repos: the token Hugging Face's own tools read (HF_TOKEN), sent to the Hub only.
      const token = process.env.HF_TOKEN || undefined;
      const insp = await hub.inspectRepo(cmd.from, { hub: address, token });
      const cache = resolve(cmd.cache ?? process.env.RG_CACHE ?? join(homedir(), '.cache', 'rg-vlm', 'hub'));
      from = join(cache, ...insp.repo.split('/'), insp.sha);
      pack.source = `${insp.repo}@${insp.sha}`;
      pack.licence = insp.licence ?? undefined;
      const mb = (insp.downloadBytes / 1e6).toFixed(1);
      io.err.write(
        `${insp.repo} at ${insp.sha.slice(0, 12)} (${insp.requested}): ${insp.files.length} files, ${mb} MB; ` +
          `downloading into ${from}\n`,
      );
      await downloadHubFiles({
        hub: address,
        repo: insp.repo,
        sha: insp.sha,
        files: insp.files,
        dir: from,
        log: (line) => io.err.write(line + '\n'),
        fetch: hub.hubFetch({ hub: address, token }),
      });
    }
  } catch (e) {
    await close();
    const err = /** @type {{ code?: string, message?: string, hint?: string }} */ (e);
    io.err.write(`rg: --from ${cmd.from}: ${err.message ?? String(e)}${err.hint ? `\n    ${err.hint}` : ''}\n`);
    return err.code === 'BAD_INPUT' || err.code === 'UNSUPPORTED_PACK' || err.code === 'INTEGRITY'
      ? EXIT_USAGE
      : EXIT_FAILURE;
  }
  // MindOmni's folder is told by its image decoder; anything else is a Qwen2-family checkpoint (or refused as one).
  const isMindOmni = existsSync(join(from, 'image_decoder', 'config.json'));
  try {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const t0 = Date.now();
    const opts = { weights: cmd.weights };
    const r = painterDir
      ? await cascade.convertCascade(folderReader(from), folderReader(painterDir), folderSink(tmp), {
          ...opts,
          pack: { ...pack, source: `${pack.source} + ${basename(painterDir)}` },
        })
      : isMindOmni
        ? await mindomni.convertMindOmni(folderReader(from), folderSink(tmp), { ...opts, pack })
        : await mod.convertQwen2(folderReader(from), folderSink(tmp), opts);
    await rm(out, { recursive: true, force: true });
    await rename(tmp, out);
    const bytes = r.files.reduce((a, f) => a + f.bytes, 0);
    const kind = painterDir ? 'Qwen2 + OmniGen (cascade)' : isMindOmni ? 'MindOmni' : 'Qwen2';
    io.err.write(
      `converted ${kind} ${cmd.from} → ${cmd.out} (${cmd.weights}) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    /** @type {{ id: string } | null} */
    const manifest = 'manifest' in r ? r.manifest : null;
    if (manifest) io.err.write(`a pack (${manifest.id}): open it with rg --pack ${cmd.out}\n`);
    else if ('notAPack' in r && r.notAPack) io.err.write(`not a pack the studio opens: ${r.notAPack}\n`);
    io.out.write(
      JSON.stringify({ out: cmd.out, weights: cmd.weights, files: r.files, bytes, pack: manifest?.id ?? null }) + '\n',
    );
    return EXIT_OK;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    const err = /** @type {{ code?: string, message?: string, hint?: string }} */ (e);
    io.err.write(`rg: ${err.message ?? String(e)}${err.hint ? `\n    ${err.hint}` : ''}\n`);
    return err.code === 'BAD_INPUT' || err.code === 'UNSUPPORTED_PACK' || err.code === 'INTEGRITY'
      ? EXIT_USAGE
      : EXIT_FAILURE;
  } finally {
    await close();
  }
}
