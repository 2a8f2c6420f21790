// @ts-check
// @file `rg understand`: image + question → reasoning and answer (Understand); result.json has no image.
import { readImage } from '../files.mjs';
import { jsonFile, jsonLine, packRecord } from '../session.mjs';
import { base64Of, promptsFor } from '../requests.mjs';

/**
 * @typedef {import('../args.mjs').UnderstandCommand} UnderstandCommand
 * @typedef {import('../session.mjs').Plan} Plan
 * @typedef {import('../../pipeline/understand').UnderstandResult} UnderstandResult
 */

/** @param {UnderstandCommand} cmd @returns {Plan} */
export function understand(cmd) {
  const image = readImage('--image', cmd.image);
  const s = cmd.settings;
  return {
    limits: [{ settings: s, where: '--' }],
    async run(session) {
      const { pack } = session;
      /** @type {Record<string, unknown>} */
      const req = { pack: pack.id, prompt: cmd.question };
      if (s.cot !== undefined) req.cot = s.cot;
      if (s.system !== undefined) req.prompts = promptsFor(s);
      if (s.maxNewTokens !== undefined) req.maxNewTokens = s.maxNewTokens;
      if (s.reasonerWeights !== undefined) req.reasonerWeights = s.reasonerWeights;
      /** @type {UnderstandResult} */
      const r = await session.run((runId) =>
        session.call('understand', /** @type {any} */ ({ ...req, runId }), base64Of(image), image.type),
      );
      const settings = {
        cot: s.cot ?? pack.defaults?.cot ?? null,
        maxNewTokens: s.maxNewTokens ?? pack.defaults?.maxNewTokens ?? null,
        sampling: r.sampling,
        reasonerWeights: r.reasonerWeights,
      };
      const record = {
        format: 'rg-cli-result',
        version: 1,
        mode: 'understand',
        question: cmd.question,
        inputImage: image.path,
        system: s.system ?? null,
        settings,
        reasoning: r.reasoning,
        answer: r.answer,
        formatMatched: r.formatOk,
        text: r.text,
        stopReason: r.stopReason,
        promptTokens: r.promptTokens,
        generatedTokens: r.tokenIds.length,
        timings: r.timings,
        pack: packRecord(pack, r.pack),
        backend: r.backend,
        device: session.device,
        createdAt: new Date().toISOString(),
      };
      session.write('result.json', jsonFile(record));
      const totalMs = Math.round(r.timings.totalMs);
      return jsonLine({ out: session.out, answer: r.answer, formatMatched: r.formatOk, totalMs });
    },
  };
}
