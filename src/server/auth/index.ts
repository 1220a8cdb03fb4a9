// The server's auth: tokens stored under the root (tokens.ts) and the scope check (scopes.ts).
export { createToken, listTokens, revokeToken, verifyToken, TOKENS_PREFIX, type TokenInfo, type TokenRole, type TokenScopes, type TokenRoot } from './tokens.js';
export { authorize, matchesPattern, type Access } from './scopes.js';
