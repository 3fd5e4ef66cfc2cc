/**
 * Each layer keeps its errors in one errors.ts (STYLE.md "Errors"), and every
 * error class a layer defines can be caught by a user who imports the package
 * root: so no two layers may define a class of the same name (the root could
 * export only one of them), and the root exports each one.
 */
import { describe, expect, it } from 'vitest';
import * as spindle from '../src/index.js';
import * as reactorErrors from '../src/reactor/errors.js';
import * as protocolErrors from '../src/protocols/errors.js';
import * as httpErrors from '../src/protocols/http/errors.js';
import * as httpClientErrors from '../src/protocols/http/client/errors.js';
import * as webErrors from '../src/protocols/web/errors.js';
import * as bridgeErrors from '../src/bridge/errors.js';
import * as websocketErrors from '../src/protocols/websocket/errors.js';
import * as reactorEntry from '../src/reactor/index.js';
import * as protocolsEntry from '../src/protocols/index.js';
import * as bridgeEntry from '../src/bridge/index.js';
import * as testingErrors from '../src/testing/errors.js';
import * as testingEntry from '../src/testing/index.js';

type Module = Record<string, unknown>;
const layers: [string, Module, Module][] = [
  ['reactor', reactorErrors, reactorEntry],
  ['protocols', protocolErrors, protocolsEntry],
  ['protocols/http', httpErrors, protocolsEntry],
  ['protocols/websocket', websocketErrors, protocolsEntry],
  ['protocols/http/client', httpClientErrors, protocolsEntry],
  ['protocols/web', webErrors, protocolsEntry],
  ['bridge', bridgeErrors, bridgeEntry],
];

/** The error classes a module exports; a re-export of another layer's class is that same class, so it is no clash. */
function ownClasses(m: Module): Map<string, unknown> {
  const all = new Map<string, unknown>();
  for (const [name, v] of Object.entries(m)) {
    if (typeof v === 'function' && v.prototype instanceof Error) all.set(name, v);
  }
  return all;
}

describe('error classes across layers', () => {
  it('no two layers define an error class of the same name', () => {
    const definedBy = new Map<unknown, string>();
    const byName = new Map<string, Set<unknown>>();
    for (const [layer, m] of layers) {
      for (const [name, cls] of ownClasses(m)) {
        if (!definedBy.has(cls)) definedBy.set(cls, layer);
        byName.set(name, (byName.get(name) ?? new Set()).add(cls));
      }
    }
    const clashes = [...byName].filter(([, classes]) => classes.size > 1).map(([name]) => name);
    expect(clashes).toEqual([]);
  });

  it('spindle/testing exports its own errors, whose names clash with no layer', () => {
    const layerNames = new Set(layers.flatMap(([, m]) => [...ownClasses(m).keys()]));
    for (const [name, cls] of ownClasses(testingErrors)) {
      expect(layerNames.has(name)).toBe(false);
      expect((testingEntry as Module)[name]).toBe(cls);
      expect(typeof new (cls as new (m: string) => { code: string })('x').code).toBe('string');
    }
    expect(ownClasses(testingErrors).size).toBeGreaterThan(0);
  });

  it("each layer's entry point and the package root export every error class of that layer", () => {
    const missing: string[] = [];
    for (const [layer, m, entry] of layers) {
      for (const [name, cls] of ownClasses(m)) {
        if (entry[name] !== cls && (reactorEntry as Module)[name] !== cls) missing.push(`${layer} entry: ${name}`);
        if ((spindle as Module)[name] !== cls) missing.push(`root: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the errors that used to exist twice are one class each, with their codes', () => {
    expect(protocolErrors.NoClockError).toBe(reactorErrors.NoClockError);
    expect(new spindle.NoClockError('LoopingCall', 'pass a clock').code).toBe('ERR_NO_CLOCK');
    expect(new spindle.InvalidHeaderError('bad').code).toBe('ERR_HTTP_INVALID_HEADER');
    expect(new spindle.InvalidStatusError(42).code).toBe('ERR_HTTP_INVALID_STATUS');
    expect(new spindle.StartResponseHeaderError(['a', 'b'], 'why').code).toBe('ERR_GATEWAY_INVALID_HEADER');
    expect(new spindle.StartResponseStatusError('2 OK', 'why').code).toBe('ERR_GATEWAY_INVALID_STATUS');
  });
});
