// usearch loaded through its CommonJS entry: usearch 2.25's ESM entry recurses forever under
// plain `node` (RangeError on import), so the built package could not run outside tsx. Every
// use of usearch imports it from here, so the workaround lives in one place.

import { createRequire } from 'node:module';
import type usearchModule from 'usearch';

const usearch = createRequire(import.meta.url)('usearch') as typeof usearchModule;
export default usearch;
