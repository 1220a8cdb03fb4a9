// The HTTP server layer's public face: the app factory, serving it, the error table, tokens,
// and the remote client that `open('http://…')` returns.
export { createApp, type AppOptions, type QuiverApp, type ServerContext } from './app.js';
export { serve, bootstrapAdminToken, type ServeOptions, type ServeRootOptions, type RunningServer } from './serve.js';
export { STATUS_OF, errorResponse, type ErrorBody } from './error-status.js';
export { streamOptionsOf } from './stream-route.js';
export { npyOf, batchFrame, type BatchFrameHeader, type FrameArray } from './npy-frames.js';
export { createToken, listTokens, revokeToken, verifyToken, authorize, matchesPattern, type TokenInfo, type TokenRole, type TokenScopes, type TokenRoot, type Access } from './auth/index.js';
export { ServerRoot, checkDatasetName } from './root.js';
export { datasetFor, HandlePool, type At, type Lease, type DatasetRequest, type ScopedHandle } from './scope.js';
