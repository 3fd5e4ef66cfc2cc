/**
 * What TCP leaves open when its reactor shuts down. As Twisted's reactor does
 * in its 'during shutdown' phase (`disconnectAll`), the listening ports are
 * closed and the connections still open are dropped, so that a stopped
 * reactor holds no socket that would keep the process alive. Apps that want to
 * finish work first do it in a 'before shutdown' trigger.
 *
 * One trigger per reactor (registered when TCP is first used, again after it
 * fired), not one per connection: removing triggers one by one would cost
 * O(n) each.
 */
import type { IReactor } from './interfaces.js';
import { Logger } from './log.js';

/** Something TCP must close at shutdown. */
export interface ShutdownClosable {
  closeForShutdown(): void;
}

interface Registry {
  open: Set<ShutdownClosable>;
  armed: boolean;
}

const registries = new WeakMap<IReactor, Registry>();
const log = new Logger('spindle.tcp');

/** Close `item` if `reactor` shuts down while it is open; call the returned function once it closed. */
export function closeAtShutdown(reactor: IReactor, item: ShutdownClosable): () => void {
  let reg = registries.get(reactor);
  if (reg === undefined) {
    reg = { open: new Set(), armed: false };
    registries.set(reactor, reg);
  }
  const registry = reg;
  if (!registry.armed) {
    registry.armed = true;
    reactor.addSystemEventTrigger('during', 'shutdown', () => {
      registry.armed = false;
      for (const open of [...registry.open]) {
        try {
          open.closeForShutdown();
        } catch (err) {
          log.failure('closing a TCP port or connection at shutdown failed', err, 'error');
        }
      }
    });
  }
  registry.open.add(item);
  return () => void registry.open.delete(item);
}
