import { HISTORY_CHANNEL, historyStore, type HistoryStore, type RunMeta, type RunRecord } from '../../store/history';
import { exportHistory, importHistory } from '../../store/history_zip';
import { DEFAULT_HINTS, toErrorInfo } from '../../errors';
import { requestPersistence } from '../../store/storage';
import { storagePersisted } from './persist';

export interface HistoryMessage {
  kind: 'ok' | 'error';
  text: string;
  hint?: string;
}

/**
 * The history view's state. History lives in IndexedDB (src/store/history.ts) and is read here in the page; the
 * pipelines write it (from the worker) and every write is announced on a BroadcastChannel, so the list follows
 * runs made in the worker or in another tab without polling.
 */
export class HistoryState {
  runs = $state<RunMeta[]>([]);
  loading = $state(false);
  selected = $state<RunRecord | null>(null);
  /** Object URLs of output images, by run id (revoked on refresh and dispose). */
  thumbs = $state<Record<string, string>>({});
  message = $state<HistoryMessage | null>(null);
  busy = $state(false);
  /**
   * Whether the browser keeps this site's data (history included) under storage pressure; null: it cannot say. Asked
   * for when the first run is saved (src/ui/state/persist.ts); when false, History reminds the user to export.
   */
  persisted = $state<boolean | null>(null);
  private channel: BroadcastChannel | null = null;
  private urls: string[] = [];

  /** `store`: the app's history when omitted (opened on first use, not when the studio is created). */
  constructor(private readonly given?: HistoryStore) {}

  private get store(): HistoryStore {
    return this.given ?? historyStore();
  }

  /** Starts listening for changes made elsewhere; returns the stop function. */
  listen(): () => void {
    if (typeof BroadcastChannel === 'undefined') return () => {};
    this.channel = new BroadcastChannel(HISTORY_CHANNEL);
    this.channel.onmessage = (ev: MessageEvent<{ db?: string }>) => {
      if (ev.data?.db === this.store.dbName) void this.refresh();
    };
    return () => this.dispose();
  }

  /** Stops listening and forgets what was shown (the view reads it again when it is opened again). */
  dispose(): void {
    this.channel?.close();
    this.channel = null;
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
    this.thumbs = {};
    this.runs = [];
    this.selected = null;
    this.message = null;
  }

  private fail(e: unknown): void {
    const info = toErrorInfo(e);
    this.message = { kind: 'error', text: info.message, hint: info.hint ?? DEFAULT_HINTS[info.code] };
  }

  async refresh(): Promise<void> {
    this.loading = true;
    try {
      const runs = await this.store.list();
      const thumbs: Record<string, string> = {};
      const urls: string[] = [];
      for (const r of runs.slice(0, 100)) {
        if (!r.hasImage && !r.hasInputImage) continue;
        const png = await this.store.image(r.id, r.hasImage ? 'output' : 'input');
        if (!png) continue;
        const u = URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
        urls.push(u);
        thumbs[r.id] = u;
      }
      for (const u of this.urls) URL.revokeObjectURL(u);
      this.urls = urls;
      this.thumbs = thumbs;
      this.runs = runs;
      if (this.selected && !runs.some((r) => r.id === this.selected!.id)) this.selected = null;
      this.persisted = await storagePersisted();
    } catch (e) {
      this.fail(e);
    } finally {
      this.loading = false;
    }
  }

  async open(id: string): Promise<void> {
    this.selected = this.selected?.id === id ? null : ((await this.store.get(id)) ?? null);
  }

  async remove(id: string): Promise<void> {
    try {
      await this.store.delete(id);
      this.message = { kind: 'ok', text: 'Run deleted.' };
    } catch (e) {
      this.fail(e);
    }
    await this.refresh();
  }

  /** Asks the browser again to keep this site's data (a click is a user gesture some browsers want). */
  async askPersistence(): Promise<void> {
    this.persisted = await requestPersistence();
  }

  /** Every run as one zip, handed to the browser as a download. */
  async exportZip(): Promise<void> {
    this.busy = true;
    try {
      const zip = await exportHistory(this.store);
      const url = URL.createObjectURL(new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
      const a = document.createElement('a');
      a.href = url;
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- not mutated
      a.download = `rg-vlm-history-${new Date().toISOString().slice(0, 10)}.zip`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 30_000);
      this.message = { kind: 'ok', text: `Exported ${this.runs.length} run${this.runs.length === 1 ? '' : 's'}.` };
    } catch (e) {
      this.fail(e);
    } finally {
      this.busy = false;
    }
  }

  async importZip(file: File): Promise<void> {
    this.busy = true;
    try {
      // The file itself: its size is checked before it is read, and it is inflated off the main thread.
      const r = await importHistory(file, this.store);
      this.message = {
        kind: 'ok',
        text:
          `Imported ${r.added} run${r.added === 1 ? '' : 's'}` +
          `${r.skipped ? ` (${r.skipped} already in the history, left as they were)` : ''}.`,
      };
    } catch (e) {
      this.fail(e);
    } finally {
      this.busy = false;
    }
    await this.refresh();
  }
}
