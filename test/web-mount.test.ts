/**
 * Other app styles mounted in a resource tree: WSGIResource sets SCRIPT_NAME
 * and PATH_INFO as PEP 3333 says; a site runs under toIterApp like any CPS app.
 */
import { describe, expect, it } from 'vitest';
import { Resource, WSGIResource, site, toCpsApp, toIterApp } from '../src/index.js';
import type { IterApp } from '../src/index.js';
import { DummyRequest } from '../src/testing/index.js';

const echo: IterApp = (environ, start) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [`${String(environ.SCRIPT_NAME)}|${String(environ.PATH_INFO)}|${String(environ.QUERY_STRING)}`];
};

function tree(): Resource {
  const root = new Resource();
  root.putChild('app', new WSGIResource(echo));
  const deep = new Resource();
  deep.putChild('wsgi', new WSGIResource(echo));
  root.putChild('a b', deep);
  return root;
}

describe('WSGIResource', () => {
  const cases: [uri: string, expected: string][] = [
    ['/app', '/app||'],
    ['/app/', '/app|/|'],
    ['/app/x/y?q=1', '/app|/x/y|q=1'],
    ['/app/x%2Fy', '/app|/x/y|'], // decoded, as the gateway decodes PATH_INFO
    ['/a%20b/wsgi/r%C3%A9', '/a b/wsgi|/r\xc3\xa9|'], // bytes as latin-1 chars (PEP 3333)
  ];
  for (const [uri, expected] of cases) {
    it(`${uri} → SCRIPT_NAME|PATH_INFO|QUERY_STRING = ${JSON.stringify(expected)}`, () => {
      const r = new DummyRequest({ uri });
      site(tree())(r);
      expect([r.code, r.text(), r.finished]).toEqual([200, expected, true]);
    });
  }

  it('a site still hosts under toIterApp and back (CPS → iterator → CPS)', () => {
    const r = new DummyRequest({ uri: '/app/z' });
    toCpsApp(toIterApp(site(tree())))(r);
    expect(r.text()).toBe('/app|/z|');
  });
});
