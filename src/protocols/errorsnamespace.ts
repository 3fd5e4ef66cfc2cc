/**
 * Every error class of the protocols layer in one module, exported from
 * `spindle/protocols` as the `errors` namespace (undici's `errors` is the
 * model): `import { errors } from 'spindle/protocols'; err instanceof
 * errors.HTTPParseError`. Each file's errors are re-exported whole, so a new
 * error class joins the namespace by being written in its errors.ts;
 * test/error-surface.test.ts checks that no two define the same name.
 */
export * from './errors.js';
export * from './http/errors.js';
export * from './http/client/errors.js';
export * from './websocket/errors.js';
export * from './web/errors.js';
