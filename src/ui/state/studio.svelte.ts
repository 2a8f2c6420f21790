import { getContext, setContext } from 'svelte';
import type { AppState } from './app.svelte';
import { ImagineState } from './imagine.svelte';
import { UnderstandState } from './understand.svelte';
import { EditState } from './edit.svelte';
import { CompareState } from './compare.svelte';

/** The studio's views, kept alive across navigation (a run keeps streaming while another view is open). */
export class StudioState {
  readonly imagine: ImagineState;
  readonly understand: UnderstandState;
  readonly edit: EditState;
  readonly compare: CompareState;

  constructor(readonly app: AppState) {
    this.imagine = new ImagineState(app);
    this.understand = new UnderstandState(app);
    this.edit = new EditState(app);
    this.compare = new CompareState(app);
  }
}

const KEY = Symbol('studio');
export function setStudio(s: StudioState): StudioState {
  return setContext(KEY, s);
}
export function getStudio(): StudioState {
  return getContext<StudioState>(KEY);
}
