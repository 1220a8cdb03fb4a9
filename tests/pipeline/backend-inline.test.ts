// Runs the backend conformance suite on the inline backend.
import { runBackendCases } from './backends.case.js';

runBackendCases('inline');
