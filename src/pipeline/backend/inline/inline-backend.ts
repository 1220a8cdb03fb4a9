// The inline backend: the UDF runs on this thread, so closures work and nothing is copied.
// A class is constructed once per stage. Concurrency overlaps async UDFs only; a CPU-bound
// UDF blocks the event loop while it runs. `batchTimeoutMs` cannot interrupt it.

import type * as arrow from 'apache-arrow';
import { assert } from '../../../errors.js';
import { tableFromUdfOutput, type BatchWhere } from '../../schema.js';
import { arrowSchemaFromColumns } from '../../schema-sql.js';
import { batchCallFor } from '../../udf-call.js';
import { loadUdf } from '../../udf-ref.js';
import type { Backend, BackendStage, Executor } from '../backend.js';

export const inlineBackend: Backend = {
  name: 'inline',
  async open(stage: BackendStage, inlineValue?: unknown): Promise<Executor> {
    const started = performance.now();
    let value = inlineValue;
    if (stage.udf.kind === 'module') value = await loadUdf(stage.udf);
    assert(value !== undefined, 'inline stage without a UDF value');
    const call = batchCallFor(value, stage.kind, 'actor', stage.ctorArgs);
    const schema = arrowSchemaFromColumns(stage.columns);
    const stats = { restarts: 0, initMs: performance.now() - started };
    return {
      stats,
      async call(batch: arrow.Table, where: BatchWhere) {
        return tableFromUdfOutput(await call(batch), schema, where);
      },
      async close() {},
    };
  },
};
