/**
 * Resource traversal and render dispatch, table-tested on DummyRequest, plus
 * the same tree on the real HTTP server (HEAD, 405 with Allow, a later answer).
 */
import { describe, expect, it } from 'vitest';
import {
  Deferred,
  ErrorPage,
  ForbiddenResource,
  NOT_DONE_YET,
  NoResource,
  Redirect,
  Resource,
  ChildNameError,
  RenderResultError,
  captureLogs,
  site,
  succeed,
  fail,
  resourceFromCps,
} from '../src/index.js';
import type { IResource, IWebRequest } from '../src/index.js';
import { DummyRequest } from '../src/testing/index.js';
import { makeServer } from './http-channel-helpers.js';

class Text extends Resource {
  constructor(private readonly text: string) {
    super();
  }
  render_GET(): string {
    return this.text;
  }
}

/** Echoes where traversal stands. */
class Where extends Resource {
  override isLeaf = true;
  render_GET(request: IWebRequest): string {
    return `pre=${JSON.stringify(request.prepath)} post=${JSON.stringify(request.postpath)}`;
  }
}

class Dynamic extends Resource {
  override getChild(name: string): IResource {
    return name === '' ? this : new Text(`dynamic ${name}`);
  }
  render_GET(): string {
    return 'dynamic index';
  }
}

class Methods extends Resource {
  render_GET(): string {
    return 'got';
  }
  render_POST(request: IWebRequest): string {
    request.setResponseCode(201);
    return 'posted';
  }
  render_PROPFIND(): string {
    return 'props';
  }
}

function tree(): Resource {
  const root = new Resource();
  root.putChild('', new Text('home'));
  root.putChild('a', new Text('a page'));
  const dir = new Resource();
  dir.putChild('b', new Text('a/b page'));
  dir.putChild('', new Text('dir index'));
  root.putChild('dir', dir);
  root.putChild('leaf', new Where());
  root.putChild('dyn', new Dynamic());
  root.putChild('m', new Methods());
  root.putChild('gone', new NoResource('went away'));
  root.putChild('secret', new ForbiddenResource());
  root.putChild('old', new Redirect('/a'));
  root.putChild('é x', new Text('unicode segment'));
  return root;
}

/** `resource` as the root's '' child, so '/' reaches it. */
function atRoot(resource: IResource): Resource {
  const root = new Resource();
  root.putChild('', resource);
  return root;
}

function get(uri: string, method = 'GET', root: IResource = tree()): DummyRequest {
  const request = new DummyRequest({ method, uri });
  site(root)(request);
  return request;
}

describe('traversal', () => {
  const cases: [uri: string, code: number, body: RegExp | string][] = [
    ['/', 200, 'home'],
    ['/a', 200, 'a page'],
    ['/a/', 404, /No Such Resource/], // Text has no '' child
    ['/dir/b', 200, 'a/b page'],
    ['/dir/', 200, 'dir index'],
    ['/dir', 200, /^$/], // a plain Resource has no render_GET: 501 below? no: it has no handlers
    ['/leaf', 200, 'pre=["leaf"] post=[]'],
    ['/leaf/', 200, 'pre=["leaf"] post=[""]'],
    ['/leaf/x/y%2Fz?q=1', 200, 'pre=["leaf"] post=["x","y/z"]'],
    ['/dyn/', 200, 'dynamic index'],
    ['/dyn/zzz', 200, 'dynamic zzz'],
    ['/missing', 404, /<title>404 - No Such Resource<\/title>/],
    ['/missing/deeper/still', 404, /No Such Resource/],
    ['/gone/x', 404, /went away/],
    ['/secret', 403, /Forbidden Resource/],
    ['/%C3%A9%20x', 200, 'unicode segment'],
    ['/old', 302, /href="\/a"/],
  ];
  for (const [uri, code, body] of cases.filter(([u]) => u !== '/dir')) {
    it(`GET ${uri} → ${code}`, () => {
      const r = get(uri);
      expect(r.code).toBe(code);
      if (typeof body === 'string') expect(r.text()).toBe(body);
      else expect(r.text()).toMatch(body);
      expect(r.finished).toBe(true);
      expect(r.getResponseHeader('content-length')).toBe(String(r.body().length));
    });
  }

  it('a resource with no handler at all answers 501', () => {
    const r = get('/dir');
    expect(r.code).toBe(501);
    expect(r.getResponseHeader('allow')).toBeUndefined();
  });

  it('a redirect carries Location', () => {
    expect(get('/old').getResponseHeader('location')).toBe('/a');
  });

  it('putChild refuses a name with "/"', () => {
    expect(() => new Resource().putChild('a/b', new Resource())).toThrow(ChildNameError);
  });

  it('prepath and postpath are what a child sees while it is chosen', () => {
    const seen: string[] = [];
    class Spy extends Resource {
      override getChild(name: string, request: IWebRequest): IResource {
        seen.push(`${name}|${request.prepath.join('/')}|${request.postpath.join('/')}`);
        return this;
      }
      render_GET(): string {
        return 'spy';
      }
    }
    const r = get('/x/y/z', 'GET', new Spy());
    expect(seen).toEqual(['x|x|y/z', 'y|x/y|z', 'z|x/y/z|']);
    expect(r.text()).toBe('spy');
  });
});

describe('render dispatch', () => {
  const cases: [method: string, code: number, body: string | RegExp, allow?: string][] = [
    ['GET', 200, 'got'],
    ['HEAD', 200, 'got'], // DummyRequest keeps it; the real server sends none (below)
    ['POST', 201, 'posted'],
    ['PROPFIND', 200, 'props'],
    [
      'PUT',
      405,
      /PUT is not allowed here; this resource answers GET, HEAD, POST, PROPFIND/,
      'GET, HEAD, POST, PROPFIND',
    ],
    ['DELETE', 405, /Method Not Allowed/, 'GET, HEAD, POST, PROPFIND'],
    ['get', 405, /Method Not Allowed/, 'GET, HEAD, POST, PROPFIND'], // methods are case-sensitive (RFC 9110 §9.1)
  ];
  for (const [method, code, body, allow] of cases) {
    it(`${method} /m → ${code}`, () => {
      const r = get('/m', method);
      expect(r.code).toBe(code);
      if (typeof body === 'string') expect(r.text()).toBe(body);
      else expect(r.text()).toMatch(body);
      expect(r.getResponseHeader('allow')).toBe(allow);
    });
  }

  it('handlers defined as arrow-function fields count too', () => {
    class Arrow extends Resource {
      render_DELETE = (): string => 'deleted';
    }
    const root = new Resource();
    root.putChild('x', new Arrow());
    expect(get('/x', 'DELETE', root).text()).toBe('deleted');
    expect(get('/x', 'GET', root).getResponseHeader('allow')).toBe('DELETE');
  });

  it('string bodies are UTF-8 with a default text/html type; bytes and a set type are kept', () => {
    class Bytes extends Resource {
      render_GET(request: IWebRequest): Uint8Array {
        request.setHeader('Content-Type', 'application/octet-stream');
        return Uint8Array.of(0, 255);
      }
    }
    const root = new Resource();
    root.putChild('s', new Text('é'));
    root.putChild('b', new Bytes());
    const s = get('/s', 'GET', root);
    expect([s.getResponseHeader('content-type'), s.getResponseHeader('content-length'), [...s.body()]]).toEqual([
      'text/html; charset=utf-8',
      '2',
      [0xc3, 0xa9],
    ]);
    const b = get('/b', 'GET', root);
    expect([b.getResponseHeader('content-type'), [...b.body()]]).toEqual(['application/octet-stream', [0, 255]]);
  });
});

describe('answering later', () => {
  class Later extends Resource {
    pending: IWebRequest[] = [];
    d = new Deferred<string>();
    render_GET(request: IWebRequest): typeof NOT_DONE_YET {
      this.pending.push(request);
      return NOT_DONE_YET;
    }
    render_POST(): Deferred<string> {
      return this.d;
    }
    render_PUT(): Promise<string> {
      return Promise.resolve('from a promise');
    }
  }

  it('NOT_DONE_YET leaves the request open until the resource finishes it', () => {
    const later = new Later();
    const r = get('/', 'GET', atRoot(later));
    expect(r.finished).toBe(false);
    later.pending[0]!.write('late');
    later.pending[0]!.finish();
    expect([r.finished, r.text()]).toEqual([true, 'late']);
  });

  it('a returned Deferred answers when it fires', () => {
    const later = new Later();
    const r = get('/', 'POST', atRoot(later));
    expect(r.finished).toBe(false);
    later.d.callback('fired');
    expect([r.finished, r.text(), r.getResponseHeader('content-length')]).toEqual([true, 'fired', '5']);
  });

  it('a returned Promise answers when it resolves', async () => {
    const r = get('/', 'PUT', atRoot(new Later()));
    await new Promise((resolve) => setImmediate(resolve));
    expect([r.finished, r.text()]).toEqual([true, 'from a promise']);
  });

  it('a throw, a failed Deferred or a bad return value become a logged 500', () => {
    class Bad extends Resource {
      render_GET(): string {
        throw new TypeError('boom');
      }
      render_POST(): Deferred<string> {
        const d = new Deferred<string>();
        d.errback(new RangeError('later boom'));
        return d;
      }
      render_PUT(): string {
        return undefined as unknown as string;
      }
    }
    const { events, restore: stop } = captureLogs();
    try {
      for (const method of ['GET', 'POST', 'PUT']) {
        const r = get('/', method, atRoot(new Bad()));
        expect([method, r.code, r.finished]).toEqual([method, 500, true]);
        expect(r.text()).toMatch(/Processing Failed/);
      }
    } finally {
      stop();
    }
    const failures = events
      .filter((e) => e.namespace === 'spindle.web')
      .map((e) => (e.failure as { value: unknown }).value);
    expect(failures[0]).toBeInstanceOf(TypeError);
    expect(failures[1]).toBeInstanceOf(RangeError);
    expect(failures[2]).toBeInstanceOf(RenderResultError);
    expect(String((failures[2] as Error).message)).toMatch(/returned undefined; return the body/);
  });

  it('a failure after headers went out aborts instead of sending a 500', () => {
    class Half extends Resource {
      d = new Deferred<string>();
      render_GET(request: IWebRequest): Deferred<string> {
        request.write('partial');
        return this.d;
      }
    }
    const half = new Half();
    const r = get('/', 'GET', atRoot(half));
    const { restore: stop } = captureLogs();
    half.d.errback(new Error('mid-body'));
    stop();
    expect([r.aborted, r.code]).toEqual([true, 200]);
  });
});

describe('resourceFromCps', () => {
  it('mounts a CPS app as a leaf that sees prepath/postpath', () => {
    const root = new Resource();
    root.putChild(
      'app',
      resourceFromCps((request) => {
        const web = request as IWebRequest;
        request.write(`${web.prepath.join('/')}|${web.postpath.join('/')}`);
        request.finish();
      }),
    );
    expect(get('/app/x/y', 'GET', root).text()).toBe('app|x/y');
  });

  it("a CPS app's failed Deferred is a 500", () => {
    const root = new Resource();
    root.putChild(
      'app',
      resourceFromCps(() => succeed(undefined).addCallback(() => fail<void>(new Error('no')))),
    );
    const { restore: stop } = captureLogs();
    const r = get('/app', 'GET', root);
    stop();
    expect(r.code).toBe(500);
  });
});

describe('on the real HTTP server', () => {
  it('HEAD answers with the GET headers and Content-Length but no body; 405 carries Allow', () => {
    const server = makeServer(site(tree()));
    server.send(
      'HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nPUT /m HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const out = server.output();
    const [head, put, getA] = out.split(/(?=HTTP\/1\.1 )/);
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toMatch(/\r\nContent-Length: 6\r\n/);
    expect(head!.endsWith('\r\n\r\n')).toBe(true);
    expect(put).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n[^]*Allow: GET, HEAD, POST, PROPFIND\r\n/);
    expect(getA).toMatch(/\r\n\r\na page$/);
  });

  it('an ErrorPage subtree answers for any path below it', () => {
    const root = new Resource();
    root.putChild('teapot', new ErrorPage(418, "I'm a teapot", 'short & stout'));
    const r = get('/teapot/any/thing', 'GET', root);
    expect([r.code, r.text().includes('short &#38; stout')]).toEqual([418, true]);
  });
});
