/**
 * The entry module of every ThreadPool worker: it runs one job at a time,
 * `import(moduleUrl)[exportName](...args)`, and posts back the (awaited) result
 * or the error. Modules stay cached between jobs, as `import()` caches them.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError } from './threaderror.js';

/** What the pool sends: one job. */
export interface JobMessage {
  id: number;
  moduleUrl: string;
  exportName: string;
  args: unknown[];
}

/** What the worker answers. */
export type ResultMessage =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ReturnType<typeof serializeError> };

/**
 * Loaded modules by URL. `import()` caches too, but each call still runs the
 * loader's resolve step, and under tsx (from source) that is a round trip to
 * the hooks thread: a few hundred µs per job without this map.
 */
const modules = new Map<string, Record<string, unknown>>();

/** The module at `url`, imported once per worker thread and shared by every job run here (threadedIterApp's apps too). */
export async function loadModule(url: string): Promise<Record<string, unknown>> {
  let mod = modules.get(url);
  if (!mod) {
    mod = (await import(url)) as Record<string, unknown>;
    modules.set(url, mod);
  }
  return mod;
}

/**
 * The function `exportName` names in a loaded module: an export, or a dotted
 * path into one ('apps.hello' is `mod.apps.hello`, called with `mod.apps` as
 * `this`). Throws a TypeError naming both when it is not a function.
 */
export function resolveExport(
  mod: Record<string, unknown>,
  moduleUrl: string,
  exportName: string,
  who: string,
): { fn: (...a: unknown[]) => unknown; owner: unknown } {
  let owner: unknown = undefined;
  let value: unknown = mod;
  for (const key of exportName.split('.')) {
    owner = value;
    value =
      value !== null && (typeof value === 'object' || typeof value === 'function')
        ? (value as Record<string, unknown>)[key]
        : undefined;
  }
  if (typeof value !== 'function') {
    throw new TypeError(
      `${who}: ${moduleUrl} has no exported function '${exportName}' (found ${typeof value}); ` +
        'export the function by that name (or a dotted path to it), or pass the right export name',
    );
  }
  return { fn: value as (...a: unknown[]) => unknown, owner: owner === mod ? undefined : owner };
}

async function runJob(job: JobMessage): Promise<unknown> {
  const mod = await loadModule(job.moduleUrl);
  const { fn, owner } = resolveExport(mod, job.moduleUrl, job.exportName, 'deferToThread');
  return await fn.apply(owner, job.args);
}

const port = parentPort;
if (port) {
  port.on('message', (job: JobMessage) => {
    runJob(job).then(
      (value) => {
        try {
          port.postMessage({ id: job.id, ok: true, value } satisfies ResultMessage);
        } catch (cloneErr) {
          // The result could not be structured-cloned: report that instead of hanging.
          port.postMessage({ id: job.id, ok: false, error: serializeError(cloneErr) } satisfies ResultMessage);
        }
      },
      (err: unknown) => port.postMessage({ id: job.id, ok: false, error: serializeError(err) } satisfies ResultMessage),
    );
  });
}
