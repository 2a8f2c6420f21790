/**
 * @file Makes errors keep their code, hint and field across the worker boundary (Comlink's default keeps only name,
 * message and stack). Imported for its side effect by both the worker and the client.
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { fromErrorInfo, toErrorInfo, type ErrorInfo } from '../errors';

type Serialized = { isError: true; value: ErrorInfo } | { isError: false; value: unknown };

const original = transferHandlers.get('throw')!;

const throwHandler: TransferHandler<{ value: unknown }, Serialized> = {
  canHandle: original.canHandle as (v: unknown) => v is { value: unknown },
  serialize: ({ value }) => [
    value instanceof Error ? { isError: true, value: toErrorInfo(value) } : { isError: false, value },
    [],
  ],
  deserialize: (s) => {
    throw s.isError ? fromErrorInfo(s.value) : s.value;
  },
};

transferHandlers.set('throw', throwHandler);
