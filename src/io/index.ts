// The io layer's public face: files in (import), files out (export) and the whole-dataset check
// (verify). It sits above the dataset layer and uses only its public API plus format readers.
export { importFiles, type ImportOptions, type ImportReport, type ImportProgress, type ImportCursor, type BadItem, type OnError } from './import-files.js';
export { exportVersion, imageExtension, type ExportOptions, type ExportReport, type ExportFormat } from './export-version.js';
export { verify, type VerifyOptions, type VerifyReport, type VerifyProblem } from './verify.js';
export { parseAddress, resolveAt, openAddress, withDataset, type Address } from './address.js';
export { detectFormat, type SourceFormat, type SourceOptions } from './sources.js';
