/**
 * `spindle/testing`: what a test of a spindle app or protocol reaches for, from
 * one import. Synchronous assertions on Deferreds, a request driven by hand,
 * an environ for iterator apps, and the reactor's test doubles.
 *
 * This entry point may import from every layer; no layer imports it.
 */
export { successResultOf, failureResultOf, assertNoResult } from './results.js';
export { DummyRequest } from './dummyrequest.js';
export { makeEnviron } from './environ.js';
export { DeferredResultError } from './errors.js';
export { TimeoutMixin } from '../protocols/timeout.js';
export { Clock, MemoryReactor, StringTransport, loopback } from '../reactor/index.js';

export type { DummyRequestOptions } from './dummyrequest.js';
export type { MakeEnvironOptions, EnvironControls } from './environ.js';
export type { ITimeoutMixin } from '../protocols/timeout.js';
