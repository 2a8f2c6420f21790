import { getContext, setContext } from 'svelte';
import { WorkerHandle } from '../../worker/client';
import type { DeviceReport, Pixels, SelfTestResult } from '../../worker/api';
import { DEFAULT_HINTS, RgError, toErrorInfo, type ErrorInfo } from '../../errors';

/** A problem shown to the user, with the next step. */
export interface Notice {
  title: string;
  message: string;
  action: string;
  code: string;
}

function notice(e: unknown, title: string): Notice {
  const info: ErrorInfo = toErrorInfo(e);
  return { title, message: info.message, action: info.hint ?? DEFAULT_HINTS[info.code], code: info.code };
}

/** The app's state: owns the worker client and what the first screen shows. */
export class AppState {
  readonly worker = new WorkerHandle();
  device = $state<DeviceReport | null>(null);
  deviceLoading = $state(false);
  roundTripMs = $state<number | null>(null);
  selfTest = $state<SelfTestResult | null>(null);
  pattern = $state<Pixels | null>(null);
  notice = $state<Notice | null>(null);

  constructor() {
    this.worker.onCrash((e) => {
      this.notice = notice(e, 'The worker crashed');
      void this.connect();
    });
  }

  /** Subscribes to worker events and loads the device report. */
  async connect(): Promise<void> {
    try {
      await this.worker.subscribe((ev) => {
        if (ev.type === 'device-lost') {
          this.notice = notice(new RgError('DEVICE_LOST', `The GPU device was lost (${ev.reason}): ${ev.message || 'no detail'}`), 'GPU device lost');
          void this.refreshDevice();
        }
      });
      await this.refreshDevice();
    } catch (e) {
      this.notice = notice(e, 'The worker could not start');
    }
  }

  async refreshDevice(): Promise<void> {
    this.deviceLoading = true;
    try {
      this.device = await this.worker.api.device();
    } catch (e) {
      this.notice = notice(e, 'Could not read the device');
    } finally {
      this.deviceLoading = false;
    }
  }

  async ping(): Promise<void> {
    const t0 = performance.now();
    try {
      await this.worker.api.ping('hello');
      this.roundTripMs = performance.now() - t0;
    } catch (e) {
      this.notice = notice(e, 'The worker did not answer');
    }
  }

  async runSelfTest(): Promise<void> {
    try {
      this.selfTest = await this.worker.api.selfTest();
      this.pattern = await this.worker.api.testPattern(128, 64);
    } catch (e) {
      this.notice = notice(e, 'The self-test failed');
    }
  }

  async simulateLoss(): Promise<void> {
    await this.worker.api.simulateDeviceLoss();
  }

  async failInWorker(): Promise<void> {
    try {
      await this.worker.api.fail('requested from the UI');
    } catch (e) {
      this.notice = notice(e, 'The worker reported an error');
    }
  }

  dismiss(): void {
    this.notice = null;
  }
}

const KEY = Symbol('app-state');
export function setAppState(s: AppState): AppState {
  return setContext(KEY, s);
}
export function getAppState(): AppState {
  return getContext<AppState>(KEY);
}
