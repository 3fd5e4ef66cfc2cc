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
export type ResultMessage = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ReturnType<typeof serializeError> };

/**
 * Loaded modules by URL. `import()` caches too, but each call still runs the
 * loader's resolve step, and under tsx (from source) that is a round trip to
 * the hooks thread: a few hundred µs per job without this map.
 */
const modules = new Map<string, Record<string, unknown>>();

async function load(url: string): Promise<Record<string, unknown>> {
  let mod = modules.get(url);
  if (!mod) {
    mod = (await import(url)) as Record<string, unknown>;
    modules.set(url, mod);
  }
  return mod;
}

async function runJob(job: JobMessage): Promise<unknown> {
  const mod = modules.get(job.moduleUrl) ?? (await load(job.moduleUrl));
  const fn = mod[job.exportName];
  if (typeof fn !== 'function') {
    throw new TypeError(
      `deferToThread: ${job.moduleUrl} has no exported function '${job.exportName}' (found ${typeof fn}); ` +
        'export the function by that name, or pass the right export name',
    );
  }
  return await (fn as (...a: unknown[]) => unknown)(...job.args);
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
