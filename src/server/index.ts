// The HTTP server layer's public face: the app factory, serving it, and the error table.
export { createApp, type AppOptions } from './app.js';
export { serve, type ServeOptions, type RunningServer } from './serve.js';
export { STATUS_OF, errorResponse, type ErrorBody } from './error-status.js';
export { streamOptionsOf, type DatasetResolver } from './stream-route.js';
export { npyOf, batchFrame, type BatchFrameHeader, type FrameArray } from './npy-frames.js';
