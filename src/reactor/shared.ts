/**
 * The shared reactor, for applications, examples and the CLI only. Library
 * code takes its reactor (or clock) as a parameter and never imports this
 * module: a test can then hand it a `Clock` or `MemoryReactor` instead.
 *
 * The reactor is created on first use, so importing this module costs nothing.
 *
 *     import reactor from 'spindle/reactor';
 *     reactor.callLater(1, () => console.log('a second later'));
 *     reactor.run({ installSignalHandlers: true });
 */
import type { IReactor, IReactorTLS, IReactorUNIX } from './interfaces.js';
import { NodeReactor } from './nodereactor.js';

let shared: NodeReactor | undefined;

/** The shared `NodeReactor`, created on the first call. */
export function getReactor(): NodeReactor {
  shared ??= new NodeReactor();
  return shared;
}

/**
 * An object that forwards every `IReactor` member to `getReactor()`, so that
 * `reactor.callLater(...)` works without creating the reactor at import time.
 */
export const reactor: IReactor & IReactorTLS & IReactorUNIX & Pick<NodeReactor, 'delayedCallCount'> = {
  get running() {
    return getReactor().running;
  },
  get stats() {
    return getReactor().stats;
  },
  seconds: () => getReactor().seconds(),
  callLater: (delay, fn, ...args) => getReactor().callLater(delay, fn, ...args),
  getDelayedCalls: () => getReactor().getDelayedCalls(),
  delayedCallCount: () => getReactor().delayedCallCount(),
  run: (options) => getReactor().run(options),
  stop: () => getReactor().stop(),
  callWhenRunning: (fn, ...args) => getReactor().callWhenRunning(fn, ...args),
  addSystemEventTrigger: (phase, event, fn, ...args) => getReactor().addSystemEventTrigger(phase, event, fn, ...args),
  removeSystemEventTrigger: (id) => getReactor().removeSystemEventTrigger(id),
  // Pass the real reactor on: TCP code keeps it (and its stats) for the connection's life.
  listenTCP: (port, factory, options) => getReactor().listenTCP(port, factory, options),
  connectTCP: (host, port, factory, options) => getReactor().connectTCP(host, port, factory, options),
  listenTLS: (port, factory, options) => getReactor().listenTLS(port, factory, options),
  connectTLS: (host, port, factory, options) => getReactor().connectTLS(host, port, factory, options),
  listenUNIX: (path, factory, options) => getReactor().listenUNIX(path, factory, options),
  connectUNIX: (path, factory, options) => getReactor().connectUNIX(path, factory, options),
};

export default reactor;
