/**
 * @file The memory plan on this device: the adapter's limits and features (src/gpu/device.ts), the user's memory
 * budget and choice, and our kernels' support (./support.ts), applied to a pack's manifest with src/packs/plan.ts.
 * The worker checks it before a download or a load, the pipelines before loading their models; the Model manager
 * and the device panel show it. Without WebGPU the models run on WASM in CPU memory and nothing is checked.
 */
import { badInput, toErrorInfo, type ErrorInfo } from '../errors';
import { capabilities } from '../gpu/device';
import type { Manifest } from '../packs/manifest';
import {
  allowanceOf,
  assertPlanFits,
  describeAllowance,
  describePlan,
  planInputOf,
  planMemory,
  type DeviceAllowance,
  type MemoryPlan,
  type PlanChoice,
  type Precision,
} from '../packs/plan';
import { CATALOGUE, cataloguePlans, type CatalogueEntry } from '../packs/catalogue';
import { KERNEL_SUPPORT } from './support';

/** What the user set (the device panel's budget, the Model manager's choice) and the tests' lowered limits. */
export interface PlanSettings {
  /** The memory budget in bytes; null or absent: DEFAULT_BUDGET_BYTES. */
  budgetBytes?: number | null;
  /** Lower the adapter's limits for the plan (a test hook; a value above the adapter's is ignored). */
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  /** The choice a download or a pack load is checked at (precision, context, size); default the pack's. */
  choice?: PlanChoice;
}

let settings: PlanSettings = {};

function positive(field: string, v: number | null | undefined): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw badInput(field, `${field} must be a positive number of bytes, got ${String(v)}`);
}

/** Replaces the plan settings (checked first: a bad value changes nothing). */
export function setPlanSettings(s: PlanSettings): void {
  positive('budgetBytes', s.budgetBytes);
  positive('maxBufferSize', s.maxBufferSize);
  positive('maxStorageBufferBindingSize', s.maxStorageBufferBindingSize);
  settings = { ...s, choice: s.choice ? { ...s.choice } : undefined };
}

export function planSettings(): PlanSettings {
  return { ...settings };
}

/** The allowance of `gpu` under the settings (lowered limits only lower). */
export function allowanceWith(
  gpu: { limits: Record<string, number>; features: readonly string[] },
  s: PlanSettings = settings,
): DeviceAllowance {
  const a = allowanceOf(gpu, s.budgetBytes ?? undefined);
  return {
    ...a,
    maxBufferSize: Math.min(a.maxBufferSize, s.maxBufferSize ?? Infinity),
    maxStorageBufferBindingSize: Math.min(a.maxStorageBufferBindingSize, s.maxStorageBufferBindingSize ?? Infinity),
  };
}

/** The shared device's allowance, or null without a WebGPU adapter (then the reason). */
export async function deviceAllowance(): Promise<{ allowance: DeviceAllowance | null; reason?: string }> {
  const caps = await capabilities();
  if (!caps.available) return { allowance: null, reason: caps.reason };
  return { allowance: allowanceWith(caps) };
}

/** The plan of `manifest` at `choice` (default: the settings' choice) on `allowance`. */
export function planOn(manifest: Manifest, allowance: DeviceAllowance, choice?: PlanChoice): MemoryPlan {
  return planMemory(planInputOf(manifest), choice ?? settings.choice ?? {}, allowance, KERNEL_SUPPORT);
}

/**
 * Refuses `manifest` (RgError MEMORY_PLAN or UNSUPPORTED_PACK with the numbers and what to try) when it does not
 * fit the shared device at `choice`; resolves with the plan (null without WebGPU: nothing to check).
 */
export async function admitPack(manifest: Manifest, choice?: PlanChoice): Promise<MemoryPlan | null> {
  const { allowance } = await deviceAllowance();
  if (!allowance) return null;
  const plan = planOn(manifest, allowance, choice);
  assertPlanFits(plan);
  return plan;
}

/** One precision of a catalogue entry's plan: the plan and its line, or why it could not be computed. */
export interface CataloguePlanRow {
  precision: Precision;
  plan: MemoryPlan | null;
  /** "needs ≈ X GB GPU (weights Y + KV Z + activations W) at …". */
  summary?: string;
  error?: ErrorInfo;
}

/** The known real checkpoints' plans (src/packs/catalogue.ts), as the Model manager shows them. */
export interface CatalogueReport {
  /** "this device allows …" (the spec's default limits when there is no adapter). */
  allows: string;
  /** Set without a WebGPU adapter: the figures are then against the spec's default limits, and nothing is checked. */
  noGpuReason?: string;
  entries: { id: string; plans: CataloguePlanRow[] }[];
}

/** One entry planned at every catalogue precision on `on`, or why it could not be. */
function entryPlans(e: CatalogueEntry, on: DeviceAllowance): CataloguePlanRow[] {
  try {
    return cataloguePlans(e, on, KERNEL_SUPPORT).map(({ precision, plan }) => ({
      precision,
      plan,
      summary: describePlan(plan),
    }));
  } catch (err) {
    return [{ precision: 'f16' as const, plan: null, error: toErrorInfo(err) }];
  }
}

/**
 * A pack not yet written planned at each precision it will be written in (`planned`: its manifest per precision, as
 * a converter will write it), on the shared device (or the spec's limits without one).
 */
export async function plannedReport(
  planned: Partial<Record<Precision, Manifest>>,
): Promise<{ allows: string; noGpuReason?: string; plans: CataloguePlanRow[] }> {
  const { allowance, reason } = await deviceAllowance();
  const on = allowance ?? allowanceWith({ limits: {}, features: [] });
  const plans = Object.entries(planned).map(([p, m]): CataloguePlanRow => {
    const precision = p as Precision;
    try {
      const plan = planMemory(
        planInputOf(m),
        { reasonerPrecision: precision, painterPrecision: precision },
        on,
        KERNEL_SUPPORT,
      );
      return { precision, plan, summary: describePlan(plan) };
    } catch (err) {
      return { precision, plan: null, error: toErrorInfo(err) };
    }
  });
  return {
    allows: describeAllowance(on),
    ...(allowance ? {} : { noGpuReason: reason ?? 'no WebGPU adapter' }),
    plans,
  };
}

/**
 * `entries` (default: the catalogue) planned at f16, int8 and int4 on the shared device (or the spec's limits
 * without one).
 */
export async function catalogueReport(list: readonly CatalogueEntry[] = CATALOGUE): Promise<CatalogueReport> {
  const { allowance, reason } = await deviceAllowance();
  const on = allowance ?? allowanceWith({ limits: {}, features: [] });
  return {
    allows: describeAllowance(on),
    noGpuReason: allowance ? undefined : (reason ?? 'no WebGPU adapter'),
    entries: list.map((e) => ({ id: e.id, plans: entryPlans(e, on) })),
  };
}
