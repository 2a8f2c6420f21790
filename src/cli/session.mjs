// @ts-check
// @file What every `rg` command that opens the app shares (src/cli/rg.mjs runs it): progress on stderr, the
// --timeout deadline, the app in headless Chromium (src/cli/app.mjs), the pack chosen and its limits checked, the
// device described, one wrapper per pipeline run (run id, deadline, cancel on a signal) and the staged --out folder.
// The commands themselves (src/cli/commands/*.mjs) only build requests and write results.
import { UsageError, packRefKind } from './args.mjs';
import { Staging, checkOut } from './files.mjs';
import { PageError, openApp } from './app.mjs';
import { packFolder, serveFolder } from './folder_server.mjs';

/**
 * @typedef {import('./args.mjs').Settings} Settings
 * @typedef {import('./page.ts').CliEvent} CliEvent
 * @typedef {import('./page.ts').CliPackInfo} CliPackInfo
 * @typedef {Awaited<ReturnType<typeof import('./app.mjs').openApp>>} App
 * @typedef {import('./args.mjs').Command} Command
 * @typedef {Exclude<Command, { command: 'help' | 'bench' | 'convert' }>} AppCommand
 * @typedef {{ out: NodeJS.WritableStream, err: NodeJS.WritableStream }} Io
 * @typedef {ReturnType<typeof progressPrinter>} Printer
 */

/**
 * What a command hands to rg.mjs once its inputs are checked in Node: the settings to check against the pack's
 * limits (with where they came from, for the message), whether to keep stderr to one line per prompt, and the run.
 * @typedef {{ settings: Settings, where: string }} LimitCheck
 * @typedef {{ stdout: string, failure?: string }} Outcome what goes to stdout; `failure`: exit 1 after writing it
 * @typedef {{ limits: LimitCheck[], quiet?: boolean, run: (s: Session) => Promise<Outcome> }} Plan
 */

/**
 * An open session: the page bridge, the run wrapper, the output folder and what was chosen.
 * @typedef {{
 *   call: App['call'],
 *   run: <T>(f: (runId: string) => Promise<T>) => Promise<T>,
 *   staging: Staging | null,
 *   write: (rel: string, data: string | Uint8Array) => void,
 *   log: (line: string) => void,
 *   pack: CliPackInfo,
 *   device: Record<string, unknown>,
 *   out: string,
 * }} Session
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command-line flag of a request field a pipeline refuses (BAD_INPUT names the field). */
export const FIELD_FLAGS = /** @type {Record<string, string>} */ ({
  prompt: '--prompt',
  instruction: '--instruction',
  image: '--image',
  pack: '--pack',
  packUrl: '--pack',
  cot: '--cot',
  cascade: '--cascade',
  seed: '--seed',
  steps: '--steps',
  guidance: '--guidance',
  width: '--size',
  height: '--size',
  maxNewTokens: '--max-new-tokens',
  weights: '--weights',
  reasonerWeights: '--reasoner-weights',
  strength: '--strength',
});

/** A failure with a known exit status. */
export class Exit extends Error {
  /** @param {number} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.exitCode = code;
  }
}

/** Prints progress on stderr: phases as lines, tokens streamed, steps as a counter. */
export function progressPrinter(/** @type {NodeJS.WritableStream} */ err) {
  let midLine = false;
  const newline = () => {
    if (midLine) err.write('\n');
    midLine = false;
  };
  return {
    /** @param {string} line */
    log(line) {
      newline();
      err.write(`${line}\n`);
    },
    /** @param {CliEvent} e */
    event(e) {
      switch (e.type) {
        case 'phase':
          if (e.phase === 'done') return;
          newline();
          err.write(`[${e.phase}]${e.detail ? ` ${e.detail}` : ''}\n`);
          return;
        case 'token':
          err.write(e.text.replace(/\r?\n/g, ' '));
          midLine = true;
          return;
        case 'progress':
          newline();
          err.write(`  ${e.label} ${e.done}/${e.total}\n`);
          return;
        case 'device-lost':
          newline();
          err.write(`GPU device lost (${e.reason}): ${e.message}\n`);
          return;
        case 'crash':
          newline();
          err.write(`the worker crashed: ${e.message}\n`);
          return;
        default:
          return;
      }
    },
    end: newline,
  };
}

/** Rejects after `s` seconds (never when s is 0). @param {number} s */
export function deadline(s) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const p = new Promise((_, reject) => {
    if (s > 0) timer = setTimeout(() => reject(new Exit(EXIT_FAILURE, `timed out after ${s} s`)), s * 1000);
  });
  return { promise: /** @type {Promise<never>} */ (p), clear: () => clearTimeout(timer) };
}

/**
 * `--pack PATH`, checked in Node before any browser starts: the folder's real absolute path (exit 2 naming what is
 * wrong). Null for an id or a URL.
 * @param {string | undefined} ref
 */
export async function packFolderOf(ref) {
  if (ref === undefined || packRefKind(ref) !== 'path') return null;
  const home = process.env.HOME ?? '';
  const path = ref.startsWith('~/') && home ? home + ref.slice(1) : ref;
  try {
    return await packFolder(path);
  } catch (e) {
    throw new Exit(EXIT_USAGE, `--pack: ${/** @type {Error} */ (e).message}`);
  }
}

/**
 * `--pack URL|PATH`: a local folder (from packFolderOf) is served on loopback (src/cli/folder_server.mjs), then the
 * page adds the pack by URL as the Model manager does (manifest checked, memory plan first). Returns the added
 * pack's id and what to record as its source (the URL, or the folder's absolute path). A refusal about a folder
 * names the folder, not the loopback address.
 * @param {App} a @param {string} ref @param {string | null} folder @param {{ close: () => Promise<void> }[]} servers
 *   closed with the app
 */
export async function addPackRef(a, ref, folder, servers) {
  let url = ref;
  if (folder) {
    const server = await serveFolder(folder);
    servers.push(server);
    url = server.url;
  }
  try {
    const added = /** @type {{ id: string }} */ (await a.call('addPack', url));
    return { id: added.id, from: folder ?? ref };
  } catch (e) {
    if (folder && e instanceof PageError) e.message = e.message.replaceAll(url, `${folder}/`);
    throw e;
  }
}

/** @param {string} packId @param {{ packs: CliPackInfo[], defaultPack: string }} list */
export function pickPack(packId, list) {
  const p = list.packs.find((x) => x.id === packId);
  const known = list.packs.map((x) => x.id).join(', ');
  if (!p) throw new Exit(EXIT_USAGE, `--pack ${packId}: no such pack (this build has ${known})`);
  if (p.manifestError) throw new Exit(EXIT_FAILURE, `pack ${packId}: ${p.manifestError}`);
  return p;
}

/**
 * Checks settings against the pack's limits before any run starts (the pipelines check again).
 * @param {Settings} s @param {CliPackInfo} pack @param {string} where
 */
export function checkLimits(s, pack, where) {
  const l = pack.limits;
  if (!l) return;
  for (const [k, v] of /** @type {const} */ ([
    ['width', s.width],
    ['height', s.height],
  ])) {
    if (v !== undefined && (v < l.minSize || v > l.maxSize || v % l.sizeMultiple !== 0)) {
      const range = `a multiple of ${l.sizeMultiple} from ${l.minSize} to ${l.maxSize}`;
      throw new UsageError(`${where}${k} must be ${range} for pack ${pack.id}, got ${v}`);
    }
  }
  if (s.steps !== undefined && s.steps > l.maxSteps) {
    throw new UsageError(`${where}steps must be at most ${l.maxSteps} for pack ${pack.id}, got ${s.steps}`);
  }
  if (s.maxNewTokens !== undefined && s.maxNewTokens > l.maxNewTokens) {
    const got = `got ${s.maxNewTokens}`;
    throw new UsageError(`${where}max-new-tokens must be at most ${l.maxNewTokens} for pack ${pack.id}, ${got}`);
  }
}

/** The backend and adapter, as every result records them. @param {App} app */
export async function deviceInfo(app) {
  const d = await app.call('device');
  return {
    backend: d.backend,
    adapter: d.gpu.available ? `${d.gpu.vendor} ${d.gpu.architecture} ${d.gpu.description}`.trim() : null,
    fallbackReason: d.fallbackReason ?? null,
    ortVersion: d.ortVersion,
  };
}

let runCounter = 0;
/** A run id of this process, for `cancel`. */
export const newRunId = () => `cli-${process.pid}-${++runCounter}`;

/**
 * `{ "pack": { id, manifestSha256, from? } }` as every result records it (`from`: the URL or the folder of
 * `--pack URL|PATH`).
 * @param {CliPackInfo} pack @param {string} [id] */
export const packRecord = (pack, id = pack.id) => ({
  id,
  manifestSha256: pack.manifestSha256,
  ...(pack.source && id === pack.id ? { from: pack.source } : {}),
});

/**
 * A summary.json record: format and version, `head`, the pack and the device, `tail`, the time it was written.
 * @param {string} format @param {Session} s @param {Record<string, unknown>} head @param {Record<string, unknown>} tail
 */
export function summaryRecord(format, s, head, tail) {
  const createdAt = new Date().toISOString();
  return { format, version: 1, ...head, pack: packRecord(s.pack), device: s.device, ...tail, createdAt };
}

/** A JSON file of the output folder (2-space indent, trailing newline). @param {unknown} value */
export const jsonFile = (value) => JSON.stringify(value, null, 2) + '\n';

/** A stdout line (one JSON object). @param {unknown} value @returns {Outcome} */
export const jsonLine = (value) => ({ stdout: JSON.stringify(value) + '\n' });

/**
 * The exit status and the one stderr line of an error that ended a command: bad input (UsageError, a BAD_INPUT
 * from the worker, a usage Exit) is 2 and names the flag of the refused field; an Exit keeps its own; else 1.
 * @param {unknown} e
 */
export function failureOf(e) {
  const page = e instanceof PageError ? e : null;
  const bad = e instanceof UsageError || page?.code === 'BAD_INPUT' || (e instanceof Exit && e.exitCode === EXIT_USAGE);
  const flag = page?.field ? FIELD_FLAGS[page.field] : undefined;
  const message = e instanceof Error ? e.message : String(e);
  const code = bad ? EXIT_USAGE : e instanceof Exit ? e.exitCode : EXIT_FAILURE;
  return { code, line: flag ? `${flag}: ${message}` : message };
}

/**
 * Runs a command that needs the app: its Node-side checks (`plan(cmd)`: exit 2 and nothing written when they fail),
 * then the app opened, the pack picked and its limits checked, the run, the output folder committed and the stdout
 * text written. Ctrl-C / SIGTERM cancel the active run, discard the output and exit 130.
 * @template {AppCommand} C
 * @param {C} cmd @param {(cmd: C) => Plan} plan @param {Io} io
 * @returns {Promise<number>} the exit status
 */
export async function runInApp(cmd, plan, io) {
  const p = progressPrinter(io.err);
  /** @type {Staging | null} */
  let staging = null;
  /** @type {App | null} */
  let app = null;
  /** @type {string | null} */
  let activeRun = null;
  /** @type {{ close: () => Promise<void> }[]} servers of `--pack PATH` folders */
  const servers = [];
  let interrupted = false;
  const onSignal = (/** @type {NodeJS.Signals} */ sig) => {
    interrupted = true;
    p.log(`rg: ${sig}: stopping, nothing written`);
    staging?.discard();
    const a = app;
    const run = activeRun;
    void (async () => {
      if (a && run) await a.call('cancel', run).catch(() => undefined);
      await a?.close();
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const limit = deadline(cmd.timeoutS);
  try {
    // 1. Everything that can be checked without a browser. rg eval writes a folder only when --out is given.
    const out = cmd.out === undefined ? '' : checkOut(cmd.out, cmd.force);
    const { limits, quiet, run: runCommand } = plan(cmd);
    const ref = cmd.settings.pack;
    const folder = await packFolderOf(ref);

    // 2. The app in headless Chromium; a quiet command (rg eval) prints one line per prompt, not every token.
    const failuresOnly = (/** @type {CliEvent} */ e) => {
      if (e.type === 'crash' || e.type === 'device-lost') p.event(e);
    };
    const onEvent = quiet ? failuresOnly : p.event;
    app = await Promise.race([openApp({ log: p.log, onEvent }), limit.promise]);
    const a = app;
    const added = ref !== undefined && packRefKind(ref) !== 'id' ? await addPackRef(a, ref, folder, servers) : null;
    const list = await a.call('packs');
    const pack = pickPack(added?.id ?? ref ?? list.defaultPack, list);
    if (added) {
      pack.source = added.from;
      p.log(`pack ${pack.id} added from ${added.from}`);
    }
    for (const { settings, where } of limits) checkLimits(settings, pack, where);
    const device = await deviceInfo(a);
    const on = device.adapter ? ` on ${device.adapter}` : '';
    p.log(`pack ${pack.id} (manifest ${pack.manifestSha256?.slice(0, 12) ?? '?'}…), ${device.backend}${on}`);

    /** @template T @param {(runId: string) => Promise<T>} f */
    const run = async (f) => {
      const id = newRunId();
      activeRun = id;
      try {
        return await Promise.race([f(id), limit.promise]);
      } finally {
        activeRun = null;
        p.end();
      }
    };
    staging = out ? new Staging(out, cmd.force) : null;
    const st = staging;
    const write = (/** @type {string} */ rel, /** @type {string | Uint8Array} */ data) => {
      if (!st) throw new Error('no --out folder to write into');
      st.write(rel, data);
    };

    // 3. The run; its folder moves into place only when it is complete.
    const outcome = await runCommand({ call: a.call, run, staging, write, log: p.log, pack, device, out });
    staging?.commit();
    io.out.write(outcome.stdout);
    if (outcome.failure) throw new Exit(EXIT_FAILURE, outcome.failure);
    if (out) p.log(`wrote ${out}`);
    return EXIT_OK;
  } catch (e) {
    p.end();
    if (interrupted) return 130;
    const f = failureOf(e);
    io.err.write(`rg: ${f.line}\n`);
    if (process.env.RG_VERBOSE && e instanceof Error && e.stack) io.err.write(e.stack + '\n');
    return f.code;
  } finally {
    limit.clear();
    staging?.discard();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await /** @type {App | null} */ (app)?.close();
    await Promise.all(servers.map((x) => x.close()));
  }
}
