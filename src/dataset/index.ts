// The dataset layer's public face.
export { Dataset, create, open, type CreateOptions, type OpenOptions, type WriteOptions, type AppendResult, type CommitOptions } from './dataset.js';
