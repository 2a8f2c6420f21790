import { expectTypeOf, test } from 'vitest';
import type { Remote } from 'comlink';
import type { RgApi, DeviceReport, Pixels } from '../../../src/worker/api';
import type { RgClient, WorkerHandle } from '../../../src/worker/client';

test('the client is the contract, remoted', () => {
  expectTypeOf<RgClient>().toEqualTypeOf<Remote<RgApi>>();
  expectTypeOf<WorkerHandle['api']>().toEqualTypeOf<Remote<RgApi>>();
});

test('client methods take and return what the contract says', () => {
  expectTypeOf<RgClient['device']>().returns.resolves.toEqualTypeOf<DeviceReport>();
  expectTypeOf<RgClient['testPattern']>().parameters.toEqualTypeOf<[number, number]>();
  expectTypeOf<RgClient['testPattern']>().returns.resolves.toEqualTypeOf<Pixels>();
  expectTypeOf<RgClient['ping']>().parameter(0).toBeString();
  // @ts-expect-error: a method the contract does not declare does not exist on the client
  expectTypeOf<RgClient['noSuchMethod']>();
});
