import type { WorkerHandle } from '../../worker/client';
import type { DownloadProgress, PackReady, PackStatus, StoreEvent } from '../../store/types';
import type { FolderFile } from '../../store/pack_service';
import type { CatalogueReport, HubReport, PackPlanReport, PlanChoice } from '../../worker/api';
import { formatBytes, requestPersistence, type StorageInfo } from '../../store/storage';
import { PACKS } from '../../packs/registry';
import { DEFAULT_HINTS, toErrorInfo } from '../../errors';
import type { WeightVariant } from '../../packs/manifest';
import type { StagedConversion } from '../../convert/hub_pack';

/** localStorage key of another Hub address (tests and mirrors); the real Hub when absent. */
export const HUB_KEY = 'rg-vlm:hub';

/** Where a conversion in the tab stands: bytes downloaded, then bytes of the download read by the converter. */
export interface HubProgress {
  phase: 'download' | 'convert';
  done: number;
  total: number;
  line: string;
}

export type PackBusy = 'download' | 'verify' | 'delete' | 'load' | 'forget';

export interface PackMessage {
  kind: 'ok' | 'error' | 'info';
  text: string;
  hint?: string;
  code?: string;
}

function errorMessage(e: unknown): PackMessage {
  const info = toErrorInfo(e);
  if (info.code === 'CANCELLED')
    return {
      kind: 'info',
      text: 'Cancelled. What was downloaded is kept; Resume continues from there.',
      code: info.code,
    };
  return { kind: 'error', text: info.message, hint: info.hint ?? DEFAULT_HINTS[info.code], code: info.code };
}

/** "12.3 MB/s · about 4 s left" */
export function rateLine(p: DownloadProgress): string {
  if (!p.rate) return 'measuring speed…';
  const eta =
    p.eta === null
      ? ''
      : p.eta < 1
        ? ' · almost done'
        : ` · about ${p.eta < 90 ? `${Math.ceil(p.eta)} s` : `${Math.ceil(p.eta / 60)} min`} left`;
  return `${formatBytes(p.rate)}/s${eta}`;
}

/**
 * The model manager's state: every registry pack with what the worker's weights store says about it, the
 * operation running on each, and the browser's storage numbers. All store work happens in the worker
 * (src/store/pack_service.ts); only `navigator.storage.persist()` is asked here, since workers cannot.
 */
/** Where the Hugging Face token is kept: sessionStorage, so it leaves with the tab. */
const TOKEN_KEY = 'rg-vlm:hf-token';

function readToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** OmniGen-v1 on the Hub: the painter a Qwen2-family repo converts with by default (MIT). */
export const DEFAULT_PAINTER_REPO = 'Shitao/OmniGen-v1';

export class PacksState {
  packs = $state<PackStatus[]>([]);
  loading = $state(false);
  storage = $state<StorageInfo | null>(null);
  /** The answer to navigator.storage.persist(), once asked (before the first download). */
  persisted = $state<boolean | null>(null);
  /** Test packs are for the test suite; shown when asked for, or when there is nothing else. */
  showTestPacks = $state(PACKS.every((p) => p.testOnly));
  busy = $state<Record<string, PackBusy | undefined>>({});
  progress = $state<Record<string, DownloadProgress | undefined>>({});
  step = $state<Record<string, { done: number; total: number; path: string } | undefined>>({});
  /** Set while an operation waits for another tab to finish with the pack (what to show). */
  waiting = $state<Record<string, string | undefined>>({});
  messages = $state<Record<string, PackMessage | undefined>>({});
  ready = $state<Record<string, PackReady | undefined>>({});
  confirmDelete = $state<string | null>(null);
  listError = $state<PackMessage | null>(null);
  /** Each pack's memory plan on this device, from its manifest (before any download). */
  plans = $state<Record<string, PackPlanReport | undefined>>({});

  /** The known real checkpoints' plans on this device (src/packs/catalogue.ts); null until read. */
  catalogue = $state<CatalogueReport | null>(null);
  catalogueError = $state<PackMessage | null>(null);

  readonly visible = $derived(this.packs.filter((p) => this.showTestPacks || !p.testOnly));

  /** "Add a pack from a folder": its run, its progress and its outcome. */
  importing = $state<string | null>(null);
  importProgress = $state<DownloadProgress | null>(null);
  importMessage = $state<PackMessage | null>(null);

  /** "Inspect a Hugging Face model": the repo id typed, its run, its report or refusal. */
  hubRepo = $state('');
  hubBusy = $state(false);
  hubReport = $state<HubReport | null>(null);
  hubMessage = $state<PackMessage | null>(null);
  /** "Download and convert": the precision chosen, the run, where it stands, its outcome. */
  hubWeights = $state<WeightVariant>('int4');
  /** A Qwen2-family repo's painter for a cascade pack: OmniGen-v1's repo id (docs/cascade.md). */
  hubPainter = $state(DEFAULT_PAINTER_REPO);
  /** A Hugging Face access token for gated or private repos, kept in this tab's sessionStorage only. */
  #hubToken = $state(readToken());
  get hubToken(): string {
    return this.#hubToken;
  }
  set hubToken(v: string) {
    this.#hubToken = v;
    try {
      if (v.trim()) sessionStorage.setItem(TOKEN_KEY, v.trim());
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage refused: the token lives in memory for this page only
    }
  }
  hubConverting = $state(false);
  /** Cancel was pressed for the running conversion (sent again with its next event, in case it came too early). */
  private hubCancelPending = false;
  hubProgress = $state<HubProgress | null>(null);
  hubConvertMessage = $state<PackMessage | null>(null);
  /** Conversions stopped before their end, whose downloaded files are still stored. */
  hubStaged = $state<StagedConversion[]>([]);

  /** The "Add a pack from a URL" field, its run and its outcome. */
  addUrl = $state('');
  adding = $state(false);
  addMessage = $state<PackMessage | null>(null);

  /**
   * `planChoice`: the choice a pack's plan is shown at (the studio's weights pickers); default the pack's.
   * `onListChanged`: a pack was added or removed (the header's pack picker reads the list again).
   */
  constructor(
    private readonly worker: WorkerHandle,
    private readonly planChoice: (packId: string) => PlanChoice | undefined = () => undefined,
    private readonly onListChanged: () => Promise<void> | void = () => {},
  ) {}

  private readonly onEvent = (e: StoreEvent): void => {
    if (e.type === 'download') this.progress[e.progress.packId] = e.progress;
    else if (e.type === 'waiting') this.waiting[e.packId] = e.message || undefined;
    else {
      this.waiting[e.packId] = undefined;
      this.step[e.packId] = { done: e.done, total: e.total, path: e.path };
    }
  };

  private setPack(s: PackStatus): void {
    const i = this.packs.findIndex((p) => p.id === s.id);
    if (i >= 0) this.packs[i] = s;
    else this.packs.push(s);
  }

  async refresh(): Promise<void> {
    this.loading = true;
    try {
      const [packs, storage] = await Promise.all([this.worker.api.packList(), this.worker.api.storageInfo()]);
      this.packs = packs;
      this.storage = storage;
      if (storage.persisted !== null) this.persisted = storage.persisted;
      this.listError = null;
    } catch (e) {
      this.listError = errorMessage(e);
    } finally {
      this.loading = false;
    }
    await Promise.all([this.refreshPlans(), this.refreshCatalogue(), this.refreshStaged()]);
  }

  /** The conversions from the Hub stopped before their end (their downloaded files are kept). */
  async refreshStaged(): Promise<void> {
    try {
      this.hubStaged = await this.worker.api.hubStaged();
    } catch {
      this.hubStaged = []; // the list is a convenience: converting the repo again still resumes
    }
  }

  /** Inspects a stopped conversion's repo at its commit again, then converts it (resuming its download). */
  async resumeStaged(s: StagedConversion): Promise<void> {
    if (this.hubConverting || this.hubBusy) return;
    this.hubRepo = `${s.repo}@${s.sha}`;
    this.hubConvertMessage = null;
    await this.inspectHub();
    if (this.hubReport?.inspection.packable) await this.convertHub();
    else if (this.hubReport)
      this.hubConvertMessage = {
        kind: 'error',
        text: `${s.repo} at this commit does not convert into a pack (see the inspection); Delete frees its download.`,
      };
  }

  /** Deletes what a stopped conversion downloaded (the first call asks for confirmation). */
  async discardStaged(s: StagedConversion): Promise<void> {
    const key = `staged:${s.repo}@${s.sha}`;
    if (this.confirmDelete !== key) {
      this.confirmDelete = key;
      return;
    }
    this.confirmDelete = null;
    try {
      await this.worker.api.hubDiscard(s.repo, s.sha);
      this.hubConvertMessage = { kind: 'info', text: `Deleted what was downloaded of ${s.repo}.` };
    } catch (e) {
      this.hubConvertMessage = errorMessage(e);
    }
    await this.refreshStaged();
    this.storage = await this.worker.api.storageInfo().catch(() => this.storage);
  }

  /** Plans the catalogue's entries on this device (from their configs: no network). */
  async refreshCatalogue(): Promise<void> {
    try {
      this.catalogue = await this.worker.api.catalogue();
      this.catalogueError = null;
    } catch (e) {
      this.catalogueError = errorMessage(e);
    }
  }

  /** Reads the memory plan of every listed pack whose manifest is readable (small: the manifest alone). */
  async refreshPlans(): Promise<void> {
    const ids = this.packs.filter((p) => p.totalBytes !== null).map((p) => p.id);
    const plan = async (id: string) => {
      try {
        return await this.worker.api.packPlan(id, this.planChoice(id));
      } catch {
        return undefined; // shown as "—"; the download itself still checks
      }
    };
    const got = await Promise.all(ids.map(plan));
    ids.forEach((id, i) => (this.plans[id] = got[i]));
  }

  private async run<T>(
    id: string,
    what: PackBusy,
    fn: () => Promise<T>,
    done: (r: T) => PackMessage | undefined,
  ): Promise<void> {
    if (this.busy[id]) return;
    this.busy[id] = what;
    this.messages[id] = undefined;
    try {
      this.messages[id] = done(await fn());
    } catch (e) {
      this.messages[id] = errorMessage(e);
    } finally {
      this.busy[id] = undefined;
      this.progress[id] = undefined;
      this.step[id] = undefined;
      this.waiting[id] = undefined;
      await this.refresh();
    }
  }

  /** Downloads or resumes a pack (asks for persistent storage first). */
  download(id: string): Promise<void> {
    return this.run(
      id,
      'download',
      async () => {
        this.persisted = await requestPersistence();
        return this.worker.packDownload(id, this.onEvent);
      },
      (s) => {
        this.setPack(s);
        return { kind: 'ok', text: `Downloaded and verified: ${s.files.length} files, ${formatBytes(s.storedBytes)}.` };
      },
    );
  }

  async cancel(id: string): Promise<void> {
    await this.worker.api.packCancel(id);
  }

  verify(id: string): Promise<void> {
    return this.run(
      id,
      'verify',
      () => this.worker.packVerify(id, this.onEvent),
      (r) => {
        if (!r.failed.length) return { kind: 'ok', text: `All ${r.checked} cached files match their sha256.` };
        const lost = r.failed.filter((f) => !r.refetched.includes(f));
        return {
          kind: lost.length ? 'error' : 'info',
          text:
            `${r.failed.length} file${r.failed.length === 1 ? '' : 's'} failed the sha256 check ` +
            `(${r.failed.join(', ')}) and ` +
            (lost.length
              ? `could not be fetched again (${lost.join(', ')}); press Resume when online.`
              : 'were fetched again; the pack is whole.'),
        };
      },
    );
  }

  /** First call asks for confirmation; the second deletes. */
  remove(id: string): Promise<void> {
    if (this.confirmDelete !== id) {
      this.confirmDelete = id;
      return Promise.resolve();
    }
    this.confirmDelete = null;
    return this.run(
      id,
      'delete',
      () => this.worker.api.packDelete(id),
      (s) => {
        this.setPack(s);
        this.ready[id] = undefined;
        return { kind: 'info', text: 'Deleted from this browser.' };
      },
    );
  }

  /**
   * Adds a pack from the URL in `addUrl` (its folder or its manifest.json): the worker reads and checks the manifest
   * only; the pack is then listed with Download. A refusal is shown under the field and changes nothing.
   */
  async add(): Promise<void> {
    if (this.adding) return;
    this.adding = true;
    this.addMessage = null;
    try {
      const s = await this.worker.api.packAdd(this.addUrl);
      const size = s.totalBytes === null ? '' : `, ${formatBytes(s.totalBytes)} to download`;
      this.addMessage = { kind: 'ok', text: `Added “${s.label}” (${s.id})${size}.` };
      this.addUrl = '';
    } catch (e) {
      this.addMessage = errorMessage(e);
      return;
    } finally {
      this.adding = false;
    }
    await this.refresh();
    await this.onListChanged();
  }

  /**
   * Imports a pack from a folder picked on this computer (`files`: paths inside the folder). The worker checks the
   * manifest and that every listed file is there at its size before storing anything; then the pack is listed and
   * its files copied into the store with progress. Cancel (the pack's own) keeps what was copied.
   */
  async importFolder(folder: string, files: FolderFile[]): Promise<void> {
    if (this.importing !== null) return;
    this.importing = folder;
    this.importMessage = null;
    this.importProgress = null;
    let added = false;
    let listed: string | null = null;
    let over = false;
    const onEvent = (e: StoreEvent): void => {
      // Events cross the worker boundary asynchronously: one that lands after the import ended is stale.
      if (e.type !== 'download' || over) return;
      this.importProgress = e.progress;
      this.progress[e.progress.packId] = e.progress;
      listed = e.progress.packId;
      if (!this.busy[e.progress.packId]) {
        // listed now: the row shows it with Cancel; refresh picks the new entry up
        this.busy[e.progress.packId] = 'download';
        added = true;
        void this.refresh().then(() => this.onListChanged());
      }
    };
    let id: string | null = null;
    try {
      const s = await this.worker.packImport(folder, files, onEvent);
      id = s.id;
      this.importMessage = {
        kind: 'ok',
        text: `Imported “${s.label}” (${s.id}): ${s.files.length} files, ${formatBytes(s.storedBytes)}, verified.`,
      };
    } catch (e) {
      this.importMessage = errorMessage(e);
    } finally {
      over = true;
      for (const p of [listed, id])
        if (p) {
          this.busy[p] = undefined;
          this.progress[p] = undefined;
        }
      this.importing = null;
      this.importProgress = null;
    }
    await this.refresh();
    if (added || id) await this.onListChanged();
  }

  /**
   * Inspects the repo id in `hubRepo` on the Hub (the worker's `hubInspect`): files, size, the converter's checks and
   * the memory plan, before any download. The Hub's address is https://huggingface.co/ unless `rg-vlm:hub` in
   * localStorage names another (the tests' loopback Hub).
   */
  async inspectHub(): Promise<void> {
    if (this.hubBusy || this.hubConverting) return;
    this.hubBusy = true;
    this.hubMessage = null;
    this.hubReport = null;
    try {
      this.hubReport = await this.worker.api.hubInspect(this.hubRepo, this.hubAddress(), this.tokenOrNone());
      this.hubConvertMessage = null;
    } catch (e) {
      this.hubMessage = errorMessage(e);
    } finally {
      this.hubBusy = false;
    }
  }

  /** The token to send, or undefined when none is given. */
  private tokenOrNone(): string | undefined {
    return this.hubToken.trim() || undefined;
  }

  /** The Hub's address: https://huggingface.co/ unless `rg-vlm:hub` in localStorage names another. */
  private hubAddress(): string | undefined {
    try {
      return localStorage.getItem(HUB_KEY) ?? undefined;
    } catch {
      return undefined; // storage refused: the real Hub
    }
  }

  /**
   * Downloads the inspected repo's files into the store and converts them into a pack there (the worker's
   * `hubConvert`), at `hubWeights`; the pack is then listed like any added pack. Cancel keeps what was downloaded.
   */
  async convertHub(): Promise<void> {
    const report = this.hubReport;
    if (this.hubConverting || !report) return;
    const repo = `${report.inspection.repo}@${report.inspection.sha}`;
    // A Qwen2-family repo converts with OmniGen-v1 as its painter (one cascade pack); MindOmni's folder alone.
    const painter = report.inspection.kind === 'reasoner' ? this.hubPainter.trim() : undefined;
    if (painter === '') {
      this.hubConvertMessage = {
        kind: 'error',
        text: 'Name the painter: OmniGen-v1’s repo id (owner/name[@revision]), e.g. Shitao/OmniGen-v1.',
      };
      return;
    }
    this.hubConverting = true;
    this.hubCancelPending = false;
    this.hubConvertMessage = null;
    this.hubProgress = { phase: 'download', done: 0, total: report.inspection.downloadBytes, line: 'starting…' };
    this.persisted = await requestPersistence();
    const onEvent = (e: StoreEvent) => {
      // A Cancel pressed before the worker had registered the run is sent again once it reports (it has by then).
      if (this.hubCancelPending) {
        this.hubCancelPending = false;
        void this.worker.api.hubCancel();
      }
      if (e.type === 'download') {
        const p = e.progress;
        this.hubProgress = {
          phase: 'download',
          done: p.loaded,
          total: p.total,
          line:
            `downloading ${p.file.path} (file ${Math.min(p.filesDone + 1, p.filesTotal)} of ${p.filesTotal}) · ` +
            (p.resumedFrom !== undefined ? `resumed at byte ${p.resumedFrom.toLocaleString('en-US')} · ` : '') +
            rateLine(p),
        };
      } else if (e.type === 'convert') {
        this.hubProgress = {
          phase: 'convert',
          done: e.done,
          total: e.total,
          line: `converting: read ${formatBytes(e.done)} of ${formatBytes(e.total)}, writing ${e.path}`,
        };
      }
    };
    let listed = false;
    try {
      const s = await this.worker.hubConvert(
        repo,
        this.hubWeights,
        this.hubAddress(),
        onEvent,
        painter,
        this.tokenOrNone(),
      );
      this.setPack(s);
      listed = true;
      this.hubConvertMessage = {
        kind: 'ok',
        text:
          `Converted into the pack “${s.label}” (${s.id}): ${s.files.length} files, ${formatBytes(s.storedBytes)}, ` +
          'stored in this browser. Choose it in the header’s pack picker.',
      };
    } catch (e) {
      // (A NETWORK error's hint, from the worker, already says the download resumes.)
      const m = errorMessage(e);
      this.hubConvertMessage =
        m.code === 'CANCELLED'
          ? { ...m, text: 'Cancelled. The files downloaded so far are kept: Download and convert resumes from there.' }
          : m;
    } finally {
      this.hubConverting = false;
      this.hubCancelPending = false;
      this.hubProgress = null;
    }
    await this.refresh(); // the pack list, and the stopped conversions
    if (listed) await this.onListChanged();
  }

  async cancelHub(): Promise<void> {
    this.hubCancelPending = true;
    await this.worker.api.hubCancel();
  }

  /** Removes a pack added from a URL (first call asks for confirmation): its stored files and its entry. */
  forget(id: string): Promise<void> {
    if (this.confirmDelete !== `forget:${id}`) {
      this.confirmDelete = `forget:${id}`;
      return Promise.resolve();
    }
    this.confirmDelete = null;
    return this.run(
      id,
      'forget',
      async () => {
        await this.worker.api.packForget(id);
        this.ready[id] = undefined;
        await this.onListChanged();
      },
      () => undefined,
    );
  }

  /** Loads every file through CachedPackSource in the worker, as a pipeline would. */
  load(id: string): Promise<void> {
    return this.run(
      id,
      'load',
      () => this.worker.packLoad(id, this.onEvent),
      (r) => {
        this.ready[id] = r;
        return undefined;
      },
    );
  }
}
