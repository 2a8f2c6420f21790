import { getContext, setContext } from 'svelte';
import type { AppState } from './app.svelte';
import { ImagineState } from './imagine.svelte';
import { UnderstandState } from './understand.svelte';
import { EditState } from './edit.svelte';
import { CompareState } from './compare.svelte';
import { RgpoState } from './rgpo.svelte';
import { PacksState } from './packs.svelte';
import { HistoryState } from './history.svelte';

/**
 * The studio's views, kept alive across navigation (a run, a group or a download keeps going while another view is
 * open). The one place their states are created; views take theirs with `getStudio()`.
 */
export class StudioState {
  readonly imagine: ImagineState;
  readonly understand: UnderstandState;
  readonly edit: EditState;
  readonly compare: CompareState;
  readonly rgpo: RgpoState;
  readonly packs: PacksState;
  readonly history: HistoryState;

  constructor(readonly app: AppState) {
    this.imagine = new ImagineState(app);
    this.understand = new UnderstandState(app);
    this.edit = new EditState(app);
    this.compare = new CompareState(app);
    this.rgpo = new RgpoState(app);
    this.packs = new PacksState(
      app.worker,
      (id) => app.planChoice(id),
      () => app.refreshPacks(),
    );
    this.history = new HistoryState();
  }
}

const KEY = Symbol('studio');
/** Makes `s` the studio of this component tree (App.svelte). */
export function setStudio(s: StudioState): StudioState {
  return setContext(KEY, s);
}
/** The studio set by App.svelte: every view's state. */
export function getStudio(): StudioState {
  return getContext<StudioState>(KEY);
}
