// @ts-check
// @file `rg edit`: image + instruction → reasoning → the painter from the noised image (Edit).
import { readImage } from '../files.mjs';
import { base64Of, paintLine, paintRequest, writePaint } from '../requests.mjs';

/**
 * @typedef {import('../args.mjs').EditCommand} EditCommand
 * @typedef {import('../session.mjs').Plan} Plan
 * @typedef {import('../session.mjs').Session} Session
 * @typedef {import('../page.ts').CliImagineResult} CliImagineResult
 */

/**
 * One Edit run (also `rg generate --image`).
 * @param {Session} s @param {Record<string, unknown>} base the request but for run id and instruction
 * @param {string} instruction @param {{ bytes: Uint8Array, type: string }} image
 * @returns {Promise<CliImagineResult>}
 */
export function editRun(s, base, instruction, image) {
  return s.run((runId) =>
    s.call('edit', /** @type {any} */ ({ ...base, runId, instruction }), base64Of(image), image.type),
  );
}

/** @param {EditCommand} cmd @returns {Plan} */
export function edit(cmd) {
  const image = readImage('--image', cmd.image);
  return {
    limits: [{ settings: cmd.settings, where: '--' }],
    async run(s) {
      const r = await editRun(s, paintRequest(cmd.settings, s.pack.id), cmd.instruction, image);
      const system = cmd.settings.system ?? null;
      const inputs = { mode: 'edit', instruction: cmd.instruction, inputImage: image.path, system };
      writePaint(s, '', inputs, r);
      return paintLine(s.out, r);
    },
  };
}
