/**
 * Every public error class of every layer, exported from `spindle` as the
 * `errors` namespace (each layer's entry point has its own `errors` too).
 */
export * from './reactor/errors.js';
export * from './protocols/errorsnamespace.js';
export * from './bridge/errors.js';
