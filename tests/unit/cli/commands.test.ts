/**
 * The `rg` command table (src/cli/rg.mjs), the shared session's exit statuses (src/cli/session.mjs) and the request
 * fields the commands share (src/cli/requests.mjs), in Node.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS, UsageError } from '../../../src/cli/args.mjs';
import { APP_COMMANDS } from '../../../src/cli/rg.mjs';
import { EXIT_FAILURE, EXIT_USAGE, Exit, failureOf } from '../../../src/cli/session.mjs';
import { PageError } from '../../../src/cli/app.mjs';
import { paintRequest, promptsFor } from '../../../src/cli/requests.mjs';

describe('rg commands', () => {
  it('every command of the argument table has a module (bench and convert run without the app)', () => {
    expect([...Object.keys(APP_COMMANDS), 'bench', 'convert'].sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  it('a failure becomes its exit status and one line naming the flag of a refused field', () => {
    const usage = new UsageError('--steps must be a whole number');
    expect(failureOf(usage)).toEqual({ code: EXIT_USAGE, line: '--steps must be a whole number' });
    const bad = new PageError({ name: 'RgError', code: 'BAD_INPUT', message: 'too large', field: 'width' });
    expect(failureOf(bad)).toEqual({ code: EXIT_USAGE, line: '--size: too large' });
    const internal = new PageError({ name: 'Error', code: 'INTERNAL', message: 'boom' });
    expect(failureOf(internal)).toEqual({ code: EXIT_FAILURE, line: 'boom' });
    const noPack = new Exit(EXIT_USAGE, '--pack x: no such pack');
    expect(failureOf(noPack)).toEqual({ code: EXIT_USAGE, line: '--pack x: no such pack' });
    const late = new Exit(EXIT_FAILURE, 'timed out after 5 s');
    expect(failureOf(late)).toEqual({ code: EXIT_FAILURE, line: 'timed out after 5 s' });
    expect(failureOf('odd')).toEqual({ code: EXIT_FAILURE, line: 'odd' });
  });

  it('--system replaces the prompt of the chosen mode; settings pass into a paint request as given', () => {
    expect(promptsFor({})).toBeUndefined();
    expect(promptsFor({ system: 'S' })).toEqual({ systemCot: 'S', systemPlain: 'S' });
    expect(promptsFor({ system: 'S', cot: true })).toEqual({ systemCot: 'S' });
    expect(promptsFor({ system: 'S', cot: false })).toEqual({ systemPlain: 'S' });
    const settings = { cot: false, seed: 3, width: 32, height: 48, weights: 'int8' };
    expect(paintRequest(settings, 'tiny-random')).toEqual({
      runId: '',
      pack: 'tiny-random',
      previewEvery: 0,
      cot: false,
      seed: 3,
      width: 32,
      height: 48,
      weights: 'int8',
    });
  });
});
