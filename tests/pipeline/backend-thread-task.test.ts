// Runs the backend conformance suite on the thread_task backend.
import { runBackendCases } from './backends.case.js';

runBackendCases('thread_task');
