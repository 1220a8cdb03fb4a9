// Messages between a stage and the worker thread or child process hosting its UDF.
// One call is in flight per host at a time; batches travel as Arrow IPC bytes.

import type { StageKind } from '../../udf-call.js';
import type { UdfModuleRef } from '../../udf-ref.js';

export interface InitMessage {
  t: 'init';
  ref: UdfModuleRef;
  kind: StageKind;
  /** `actor`: a class is constructed once, at init; `task`: once per batch. */
  mode: 'task' | 'actor';
  /** The declared output schema, as the IPC stream of an empty table. */
  schemaIpc: Uint8Array;
  ctorArgs: unknown[];
  stage: number;
  stageName: string;
}

export interface CallMessage {
  t: 'call';
  id: number;
  batch: number;
  ipc: Uint8Array;
}

/** A UDF error as plain data; `code` is set when it was a QuiverError. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  details?: Record<string, unknown>;
}

export type HostMessage =
  | { t: 'ready'; initMs: number }
  | { t: 'init_error'; error: WireError }
  | { t: 'result'; id: number; ipc: Uint8Array }
  | { t: 'error'; id: number; error: WireError };

export type ParentMessage = InitMessage | CallMessage;
