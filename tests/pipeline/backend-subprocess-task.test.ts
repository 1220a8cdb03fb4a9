// Runs the backend conformance suite on the subprocess_task backend.
import { runBackendCases } from './backends.case.js';

runBackendCases('subprocess_task');
