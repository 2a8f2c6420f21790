// @ts-check
// @file Argument parsing for `rg` (src/cli/rg.mjs): pure functions, no I/O, so the unit tests run them in Node.
// Every mistake becomes a UsageError with a one-line reason; rg.mjs prints it and exits 2 before anything runs.

/** A bad command line or input file; the CLI exits 2 with `message` (one line). */
export class UsageError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * @typedef {'string' | 'boolean'} FlagKind
 * @typedef {{ kind: FlagKind, help: string, value?: string }} FlagSpec
 */

/**
 * Flags written as `rg <command> --help` prints them, one a line: `--name VALUE  help` (two spaces or more before
 * the help; a flag without VALUE is a boolean, `--no-name` turns it off).
 * @param {string} table
 * @returns {Record<string, FlagSpec>}
 */
function flagTable(table) {
  /** @type {Record<string, FlagSpec>} */
  const flags = {};
  for (const line of table.split('\n')) {
    if (!line.trim()) continue;
    const m = /^\s*--([\w-]+)(?: (\S+))?\s{2,}(\S.*)$/.exec(line);
    if (!m) throw new Error(`args.mjs: not a flag line: ${JSON.stringify(line)}`);
    flags[m[1]] = m[2] === undefined ? { kind: 'boolean', help: m[3] } : { kind: 'string', value: m[2], help: m[3] };
  }
  return flags;
}

/** Settings of a run, left to the pack when not given (generate, edit, compare, rgpo; understand and eval: some). */
const SETTINGS_FLAGS = flagTable(`
  --pack ID|URL|PATH       a pack id, or a converted pack's folder: an http(s) URL (the folder or its \
manifest.json) or a local path such as ./my-pack (default: the first pack that is not test-only, else tiny-random)
  --cot                    chain of thought on (--no-cot: off; default: the pack’s)
  --cascade                cascade thinking: the answer is reasoned on again and that pass paints (needs --cot)
  --system TEXT            system prompt instead of the default one (the CoT or the plain one, as chosen)
  --seed N                 seed, a whole number from 0 to 4294967295 (default: the pack’s)
  --steps N                painter steps, a whole number ≥ 1 (default: the pack’s)
  --guidance X             classifier-free guidance scale ≥ 0 (default: the pack’s)
  --size WxH               image size in pixels, e.g. 64x64 (default: the pack’s)
  --max-new-tokens N       most tokens the reasoner may write (default: the pack’s)
  --weights f32|f16|bf16|int8|int4  painter weights file among the pack's (default f32, else the pack's only one)
  --reasoner-weights f32|f16|bf16|int8|int4  reasoner engine weights on WebGPU (default f32; others made from f32 \
at load)
`);

/** Where the results go and how long a run may take (every command that opens the app). */
const RUN_FLAGS = flagTable(`
  --out DIR    output folder (must be new or empty unless --force)
  --force      replace an existing --out folder
  --timeout S  give up after S seconds (default: no limit)
`);

/** @param {Record<string, FlagSpec>} flags @param {string[]} names */
const pick = (flags, names) => Object.fromEntries(names.map((n) => [n, flags[n]]));

/** The image types an input image may be in. */
const IMAGE_TYPES = '(PNG, JPEG, WebP, GIF or BMP)';

/** @type {Record<string, { summary: string, usage: string, flags: Record<string, FlagSpec>, required: string[] }>} */
export const COMMANDS = {
  generate: {
    summary: 'prompt → reasoning → image (Imagine); --image makes the reasoner see an image too',
    usage:
      'rg generate --prompt TEXT [--image FILE] [--cot|--no-cot] [--system TEXT] [--pack ID|URL|PATH] [--seed N] ' +
      '[--steps N] [--guidance X] [--size WxH] --out DIR',
    flags: {
      ...flagTable(`
        --prompt TEXT  what to draw
        --image FILE   an image the reasoner sees with the prompt ${IMAGE_TYPES}`),
      ...SETTINGS_FLAGS,
      ...RUN_FLAGS,
    },
    required: ['prompt', 'out'],
  },
  understand: {
    summary: 'image + question → reasoning and answer',
    usage:
      'rg understand --image FILE --question TEXT [--cot|--no-cot] [--system TEXT] [--pack ID|URL|PATH] ' +
      '[--max-new-tokens N] --out DIR',
    flags: {
      ...flagTable(`
        --image FILE     the image to ask about ${IMAGE_TYPES}
        --question TEXT  the question`),
      ...pick(SETTINGS_FLAGS, ['pack', 'cot', 'system', 'max-new-tokens', 'reasoner-weights']),
      ...RUN_FLAGS,
    },
    required: ['image', 'question', 'out'],
  },
  edit: {
    summary: 'image + instruction → reasoning → edited image',
    usage:
      'rg edit --image FILE --instruction TEXT [--strength X] [--cot|--no-cot] [--seed N] [--steps N] ' +
      '[--guidance X] [--size WxH] --out DIR',
    flags: {
      ...flagTable(`
        --image FILE        the image to edit ${IMAGE_TYPES}
        --instruction TEXT  what to change
        --strength X        how far from the input, above 0 and at most 1 (default: the pack’s)`),
      ...SETTINGS_FLAGS,
      ...RUN_FLAGS,
    },
    required: ['image', 'instruction', 'out'],
  },
  compare: {
    summary: 'one Imagine run per JSONL line → a folder per line + summary.json + summary.csv',
    usage: 'rg compare --file prompts.jsonl [settings as for generate, used where a line sets none] --out DIR',
    flags: {
      ...flagTable(`
        --file FILE  JSON Lines, one object per line: {"prompt": …, optional "name", "cot", "cascade", "system", \
"seed", "steps", "guidance", "size", "max_new_tokens", "weights", "reasoner_weights"}`),
      ...SETTINGS_FLAGS,
      ...RUN_FLAGS,
    },
    required: ['file', 'out'],
  },
  rgpo: {
    summary:
      'RGPO lab: a group of G sampled rollouts, rewards, advantages, best-of-G ' +
      '(--eval FILE: single-sample vs best-of-G means)',
    usage:
      'rg rgpo (--prompt TEXT | --eval FILE) [--group N] [--temperature X] [--top-p X] ' +
      '[settings as for generate] --out DIR',
    flags: {
      ...flagTable(`
        --prompt TEXT    the prompt of the group
        --eval FILE      a prompt list instead: one prompt per line (or {"prompt": …} JSON), blank lines and \
# comments skipped
        --group N        rollouts per group, 1 to 16 (default 4)
        --temperature X  reasoner sampling temperature, 0.01 to 100 (default 1)
        --top-p X        reasoner top-p, above 0 and at most 1 (default 1)`),
      ...SETTINGS_FLAGS,
      ...RUN_FLAGS,
    },
    required: ['out'],
  },
  eval: {
    summary:
      'the pack’s held-out evaluation (eval/set.json) in the browser: image accuracy without and with CoT, ' +
      'format match, understanding, beside the PyTorch figures',
    usage: 'rg eval [--pack ID|URL|PATH] [--n N] [--steps N] [--out DIR] [--force] [--timeout S]',
    flags: {
      ...flagTable(`
        --pack ID|URL|PATH   a pack with eval/set.json (default: the first pack that is not test-only)
        --n N       only the first N arithmetic prompts, colour-mixing prompts and understanding images \
(default: all)
        --steps N   painter steps instead of the set’s, for a quick check of the mechanics (the PyTorch figures \
were made at the set’s steps)
        --out DIR   also write summary.json (every prompt and question) and the images there (must be new or \
empty unless --force)`),
      ...pick(RUN_FLAGS, ['force', 'timeout']),
    },
    required: [],
  },
  convert: {
    summary:
      'a Qwen2-family or MindOmni checkpoint folder → reasoner (and painter) weights, tokenizer, converted.json (Node)',
    usage:
      'rg convert --from DIR|owner/name[@rev] [--painter DIR] --out DIR [--weights int4|int8|f16|bf16|f32] ' +
      '[--cache DIR] [--force]',
    flags: flagTable(`
      --from DIR|REPO                 a checkpoint folder (config.json, safetensors, tokenizer) or MindOmni's \
(mllm/, …); or a Hugging Face repo id, owner/name[@revision]: checked on the Hub, then downloaded (resumed, sha256 \
checked) into --cache and converted from there
      --painter DIR                   OmniGen-v1's folder (config.json, model.safetensors, tokenizer, vae/): with a \
Qwen2-family --from folder, one cascade pack (the reasoner thinks, OmniGen paints from its own embeddings of the answer)
      --cache DIR                     where a repo's files are downloaded (default ~/.cache/rg-vlm/hub; env RG_CACHE)
      --out DIR                       output folder (must be new or empty unless --force)
      --weights int4|int8|f16|bf16|f32  how the matrices are stored (default int4)
      --force                         replace an existing --out folder`),
    required: ['from', 'out'],
  },
  bench: {
    summary: 'the benchmarks of `npm run bench`, same report',
    usage: 'rg bench [--filter NAME] [--json FILE] [--reps N] [--timeout SECONDS]',
    flags: flagTable(`
      --filter NAME      only benchmarks whose name contains NAME
      --json FILE        also write the results as JSON
      --reps N           repetitions per case
      --timeout SECONDS  give up after this long (default 600)`),
    required: [],
  },
};

/** The text `rg --help` prints (for one command when `command` names one). @param {string} [command] */
export function usage(command) {
  if (command && COMMANDS[command]) {
    const c = COMMANDS[command];
    const lines = [`usage: ${c.usage}`, '', c.summary, ''];
    for (const [name, f] of Object.entries(c.flags)) {
      const left =
        f.kind === 'boolean' ? (name === 'cot' ? '--cot, --no-cot' : `--${name}`) : `--${name} ${f.value ?? 'VALUE'}`;
      lines.push(`  ${left.padEnd(26)} ${f.help}${c.required.includes(name) ? ' (required)' : ''}`);
    }
    return lines.join('\n');
  }
  const lines = ['usage: rg <command> [options]   (npm run rg -- <command> …)', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(11)} ${c.summary}`);
  lines.push('', 'rg <command> --help lists its options. Progress goes to stderr, results to stdout and --out.');
  lines.push('Exit status: 0 done, 2 bad arguments or inputs (nothing written), 1 a failure while running.');
  return lines.join('\n');
}

/**
 * Splits argv (after the command) into flags. `--name value`, `--name=value`, booleans `--cot` / `--no-cot` /
 * `--force`. Unknown flags, repeated flags, stray words and missing values are UsageErrors.
 * @param {string} command
 * @param {string[]} argv
 * @returns {Record<string, string | boolean>}
 */
export function parseFlags(command, argv) {
  const spec = COMMANDS[command]?.flags;
  if (!spec)
    throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')}`);
  /** @type {Record<string, string | boolean>} */
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--')
      throw new UsageError(
        `unexpected argument ${JSON.stringify(arg)} (options start with --; see rg ${command} --help)`,
      );
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    /** @type {string | boolean} */
    let value;
    if (name.startsWith('no-') && spec[name.slice(3)]?.kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      name = name.slice(3);
      value = false;
    } else {
      const f = spec[name];
      if (!f) throw new UsageError(`unknown option --${name} for rg ${command} (see rg ${command} --help)`);
      if (f.kind === 'boolean') {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        value = true;
      } else if (eq >= 0) {
        value = arg.slice(eq + 1);
      } else {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('--') && isFlag(spec, next)))
          throw new UsageError(`--${name} needs a value (${f.value ?? 'VALUE'})`);
        value = next;
        i++;
      }
    }
    if (name in out) throw new UsageError(`--${name} is given more than once`);
    out[name] = value;
  }
  for (const r of COMMANDS[command].required) {
    if (!(r in out)) throw new UsageError(`--${r} is required (${usageLine(command)})`);
  }
  return out;
}

/** @param {Record<string, FlagSpec>} spec @param {string} word */
function isFlag(spec, word) {
  const name = word.slice(2).split('=')[0];
  return name in spec || (name.startsWith('no-') && name.slice(3) in spec);
}

/** @param {string} command */
function usageLine(command) {
  return `usage: ${COMMANDS[command].usage}`;
}

// ------------------------------------------------------------------------------------------------ values

const INT = /^[+]?\d+$/;
const NUM = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** @param {string} label @param {unknown} v @param {number} lo @param {number} hi */
export function wholeNumber(label, v, lo, hi) {
  const s = typeof v === 'number' ? String(v) : v;
  const n = typeof s === 'string' && INT.test(s.trim()) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) {
    const range = hi === Number.MAX_SAFE_INTEGER ? `≥ ${lo}` : `from ${lo} to ${hi}`;
    throw new UsageError(`${label} must be a whole number ${range}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** @param {string} label @param {unknown} v @param {{ min?: number, max?: number, aboveMin?: boolean }} r */
export function decimal(label, v, r) {
  const s = typeof v === 'number' ? String(v) : v;
  const n = typeof s === 'string' && NUM.test(s.trim()) ? Number(s) : NaN;
  const lo = r.min ?? -Infinity;
  const hi = r.max ?? Infinity;
  if (!Number.isFinite(n) || n > hi || (r.aboveMin ? n <= lo : n < lo)) {
    const range = r.aboveMin
      ? `above ${lo}${Number.isFinite(hi) ? ` and at most ${hi}` : ''}`
      : Number.isFinite(hi)
        ? `from ${lo} to ${hi}`
        : `≥ ${lo}`;
    throw new UsageError(`${label} must be a number ${range}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** @param {string} label @param {unknown} v @returns {{ width: number, height: number }} */
export function size(label, v) {
  const m = typeof v === 'string' ? /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(v) : null;
  const width = m ? Number(m[1]) : NaN;
  const height = m ? Number(m[2]) : NaN;
  if (!m || !(width >= 1) || !(height >= 1) || !Number.isSafeInteger(width) || !Number.isSafeInteger(height)) {
    throw new UsageError(`${label} must be WIDTHxHEIGHT in pixels, e.g. 64x64, got ${JSON.stringify(v)}`);
  }
  return { width, height };
}

/** @param {string} label @param {unknown} v */
export function text(label, v) {
  if (typeof v !== 'string' || v.trim().length === 0) throw new UsageError(`${label} is empty`);
  return v;
}

const PACK_ID = /^[\w.-]{1,64}$/;

/**
 * What a --pack value names: an http(s) URL, a local folder (a value with a slash or a backslash, or `.`/`..`, or
 * starting with `~`), else a pack id.
 * @param {string} v
 * @returns {'url' | 'path' | 'id'}
 */
export function packRefKind(v) {
  if (/^https?:\/\//i.test(v)) return 'url';
  if (/[/\\]/.test(v) || v === '.' || v === '..' || v.startsWith('~')) return 'path';
  return 'id';
}
export const WEIGHTS = ['f32', 'f16', 'bf16', 'int8', 'int4'];
export const REASONER_WEIGHTS = ['f32', 'f16', 'bf16', 'int8', 'int4'];
export const MAX_SEED = 2 ** 32 - 1;

/**
 * Settings a generate / edit / compare run may set. All optional: what is left out comes from the pack.
 * @typedef {{
 *   pack?: string, cot?: boolean, cascade?: boolean, system?: string, seed?: number, steps?: number, guidance?: number,
 *   width?: number, height?: number, maxNewTokens?: number, weights?: string, strength?: number,
 *   reasonerWeights?: string
 * }} Settings
 */

/**
 * Checks the settings flags of a command line (or the same keys of a JSONL line, with `label` naming where).
 * @param {Record<string, unknown>} f flags by name (`max-new-tokens` or `max_new_tokens`)
 * @param {(name: string) => string} label how to name a flag in messages
 * @param {{ sources?: boolean }} [opts] `sources`: `pack` may also be a URL or a folder path (the command line's
 *   --pack; a JSONL line names packs by id)
 * @returns {Settings}
 */
export function settings(f, label, opts = {}) {
  /** @type {Settings} */
  const s = {};
  if (f.pack !== undefined) {
    if (typeof f.pack === 'string' && opts.sources && packRefKind(f.pack) !== 'id') s.pack = f.pack;
    else if (typeof f.pack !== 'string' || !PACK_ID.test(f.pack))
      throw new UsageError(
        `${label('pack')} must be a pack id (letters, digits, - _ .)` +
          (opts.sources ? ', an http(s) URL or a folder path (./folder)' : '') +
          `, got ${JSON.stringify(f.pack)}`,
      );
    else s.pack = f.pack;
  }
  if (f.cot !== undefined) {
    if (typeof f.cot !== 'boolean')
      throw new UsageError(`${label('cot')} must be true or false, got ${JSON.stringify(f.cot)}`);
    s.cot = f.cot;
  }
  if (f.cascade !== undefined) {
    if (typeof f.cascade !== 'boolean')
      throw new UsageError(`${label('cascade')} must be true or false, got ${JSON.stringify(f.cascade)}`);
    if (f.cascade && s.cot === false)
      throw new UsageError(
        `${label('cascade')} needs chain of thought (the answer is reasoned on again with it); ` +
          'turn chain of thought on',
      );
    s.cascade = f.cascade;
  }
  if (f.system !== undefined) s.system = text(label('system'), f.system);
  if (f.seed !== undefined) s.seed = wholeNumber(label('seed'), f.seed, 0, MAX_SEED);
  if (f.steps !== undefined) s.steps = wholeNumber(label('steps'), f.steps, 1, Number.MAX_SAFE_INTEGER);
  if (f.guidance !== undefined) s.guidance = decimal(label('guidance'), f.guidance, { min: 0 });
  if (f.size !== undefined) Object.assign(s, size(label('size'), f.size));
  const mnt = f['max-new-tokens'] ?? f.max_new_tokens;
  if (mnt !== undefined) s.maxNewTokens = wholeNumber(label('max-new-tokens'), mnt, 1, Number.MAX_SAFE_INTEGER);
  if (f.weights !== undefined) {
    if (typeof f.weights !== 'string' || !WEIGHTS.includes(f.weights))
      throw new UsageError(
        `${label('weights')} must be one of ${WEIGHTS.join(', ')}, got ${JSON.stringify(f.weights)}`,
      );
    s.weights = f.weights;
  }
  const rw = f['reasoner-weights'] ?? f.reasoner_weights;
  if (rw !== undefined) {
    if (typeof rw !== 'string' || !REASONER_WEIGHTS.includes(rw))
      throw new UsageError(
        `${label('reasoner-weights')} must be one of ${REASONER_WEIGHTS.join(', ')}, got ${JSON.stringify(rw)}`,
      );
    s.reasonerWeights = rw;
  }
  if (f.strength !== undefined) s.strength = decimal(label('strength'), f.strength, { min: 0, max: 1, aboveMin: true });
  return s;
}

/**
 * @typedef {{ command: 'help', topic?: string }} HelpCommand
 * @typedef {{ out: string, force: boolean, timeoutS: number }} RunOptions
 * @typedef {{ command: 'generate', prompt: string, image?: string, settings: Settings } & RunOptions} GenerateCommand
 * @typedef {{
 *   command: 'understand', question: string, image: string, settings: Settings
 * } & RunOptions} UnderstandCommand
 * @typedef {{ command: 'edit', instruction: string, image: string, settings: Settings } & RunOptions} EditCommand
 * @typedef {{ command: 'compare', file: string, settings: Settings } & RunOptions} CompareCommand
 * @typedef {{ command: 'bench', filter?: string, json?: string, reps?: string, timeout: string }} BenchCommand
 * @typedef {{
 *   command: 'convert', from: string, out: string, weights: 'int4' | 'int8' | 'f16' | 'bf16' | 'f32', force: boolean,
 *   cache?: string, painter?: string
 * }} ConvertCommand
 * @typedef {{
 *   command: 'rgpo', prompt?: string, eval?: string, group: number, temperature: number, topP: number,
 *   settings: Settings
 * } & RunOptions} RgpoCommand
 * @typedef {{
 *   command: 'eval', n?: number, steps?: number, out?: string, force: boolean, timeoutS: number,
 *   settings: Settings
 * }} EvalCommand
 * @typedef {HelpCommand | GenerateCommand | UnderstandCommand | EditCommand | CompareCommand | BenchCommand
 *   | RgpoCommand | EvalCommand | ConvertCommand} Command
 */

/**
 * --out, --force and --timeout (in seconds, 0 = no limit). @param {Record<string, string | boolean>} f
 * @param {boolean} outRequired false: --out may be left out (rg eval)
 */
function runOptions(f, outRequired) {
  return {
    out: outRequired || f.out !== undefined ? text('--out', f.out) : undefined,
    force: f.force === true,
    timeoutS: f.timeout === undefined ? 0 : decimal('--timeout', f.timeout, { min: 0, aboveMin: true }),
  };
}

/**
 * Parses a whole command line (process.argv.slice(2)).
 * @param {string[]} argv
 * @returns {Command}
 */
export function parseCommandLine(argv) {
  const [command, ...rest] = argv;
  if (command === undefined)
    throw new UsageError('no command given; commands: ' + Object.keys(COMMANDS).join(', ') + ' (rg --help)');
  if (command === '--help' || command === '-h' || command === 'help') return { command: 'help', topic: rest[0] };
  if (!(command in COMMANDS))
    throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')}`);
  if (rest.includes('--help') || rest.includes('-h')) return { command: 'help', topic: command };
  const f = parseFlags(command, rest);
  const flag = (/** @type {string} */ n) => `--${n}`;
  if (command === 'bench') {
    if (f.reps !== undefined) wholeNumber('--reps', f.reps, 1, Number.MAX_SAFE_INTEGER);
    const timeout =
      f.timeout === undefined ? '600' : String(decimal('--timeout', f.timeout, { min: 0, aboveMin: true }));
    return {
      command,
      filter: /** @type {string|undefined} */ (f.filter),
      json: /** @type {string|undefined} */ (f.json),
      reps: /** @type {string|undefined} */ (f.reps),
      timeout,
    };
  }
  if (command === 'convert') {
    const weights = f.weights === undefined ? 'int4' : text('--weights', f.weights);
    if (!['int4', 'int8', 'f16', 'bf16', 'f32'].includes(weights))
      throw new UsageError(`--weights must be int4, int8, f16, bf16 or f32, not ${JSON.stringify(weights)}`);
    return {
      command,
      from: text('--from', f.from),
      out: text('--out', f.out),
      weights: /** @type {ConvertCommand['weights']} */ (weights),
      force: f.force === true,
      ...(f.cache === undefined ? {} : { cache: text('--cache', f.cache) }),
      ...(f.painter === undefined ? {} : { painter: text('--painter', f.painter) }),
    };
  }
  if (command === 'eval') {
    // --pack and --steps are settings, so the pack's limits are checked before any run (rg.mjs checkLimits).
    const s = settings({ pack: f.pack, steps: f.steps }, flag, { sources: true });
    return {
      command,
      n: f.n === undefined ? undefined : wholeNumber('--n', f.n, 1, Number.MAX_SAFE_INTEGER),
      steps: s.steps,
      ...runOptions(f, false),
      settings: s,
    };
  }
  const run = /** @type {RunOptions} */ (runOptions(f, true));
  const s = settings(f, flag, { sources: true });
  switch (command) {
    case 'generate':
      return {
        command,
        prompt: text('--prompt', f.prompt),
        image: f.image === undefined ? undefined : text('--image', f.image),
        settings: s,
        ...run,
      };
    case 'understand':
      return {
        command,
        question: text('--question', f.question),
        image: text('--image', f.image),
        settings: s,
        ...run,
      };
    case 'edit':
      return {
        command,
        instruction: text('--instruction', f.instruction),
        image: text('--image', f.image),
        settings: s,
        ...run,
      };
    case 'compare':
      return { command, file: text('--file', f.file), settings: s, ...run };
    case 'rgpo': {
      if ((f.prompt === undefined) === (f.eval === undefined))
        throw new UsageError('rgpo needs exactly one of --prompt TEXT or --eval FILE');
      return {
        command,
        prompt: f.prompt === undefined ? undefined : text('--prompt', f.prompt),
        eval: f.eval === undefined ? undefined : text('--eval', f.eval),
        group: f.group === undefined ? 4 : wholeNumber('--group', f.group, 1, 16),
        temperature: f.temperature === undefined ? 1 : decimal('--temperature', f.temperature, { min: 0.01, max: 100 }),
        topP: f['top-p'] === undefined ? 1 : decimal('--top-p', f['top-p'], { min: 0, max: 1, aboveMin: true }),
        settings: s,
        ...run,
      };
    }
  }
  throw new UsageError(`unknown command ${command}`);
}
