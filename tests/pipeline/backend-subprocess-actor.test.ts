// Runs the backend conformance suite on the subprocess_actor backend.
import { runBackendCases } from './backends.case.js';

runBackendCases('subprocess_actor');
