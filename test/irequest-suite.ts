/**
 * The IRequest conformance suite (issue 16): what a CPS app may rely on from
 * its `request`, whichever host runs it. Every host runs the same cases:
 * spindle's HTTP server, a Fetch host (toFetchHandler), node:http
 * (toNodeListener) and the bridged request an app sees through
 * toCpsApp(toIterApp(app)). The cases follow docs/http.md's Request table:
 * header validation, headers fixed after the first write, the end rules, the
 * producer slot, notifyFinish, the no-body rule, one body read.
 *
 * An app records what each call did (`Probe`), then finishes; the test checks
 * the record and what the client received.
 */
import { describe, expect, it } from 'vitest';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import type { IPushProducer } from '../src/reactor/interfaces.js';

/** What the client received. */
export interface ClientView {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface SuiteCall {
  method?: string;
  path?: string;
  body?: string;
}

/** A host: serve one request to `app` and return what the client got. */
export interface RequestHost {
  serve(app: CpsApp, call?: SuiteCall): Promise<ClientView>;
  /**
   * Which cases apply (default all): `wire` false for a host that frames
   * nothing (DummyRequest keeps a HEAD body so a test can see it, and runs no
   * app dispatch that would turn a throw into a 500).
   */
  caps?: { wire: boolean };
}

/** The outcome of one call inside the app: 'ok' or the error's code (its name if it has none). */
function attempt(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).name;
  }
}

const noopProducer = (): IPushProducer => ({
  pauseProducing: () => undefined,
  resumeProducing: () => undefined,
  stopProducing: () => undefined,
});

export function runRequestSuite(hostName: string, host: RequestHost): void {
  describe(`IRequest suite: ${hostName}`, () => {
    it('a header name that is not a token is refused (InvalidHeaderError), not sent', async () => {
      const seen: string[] = [];
      const view = await host.serve((req) => {
        seen.push(attempt(() => req.setHeader('bad name', 'v')));
        seen.push(attempt(() => req.addHeader('X:Y', 'v')));
        seen.push(attempt(() => req.setHeader('', 'v')));
        req.finish();
      });
      expect(seen).toEqual(['ERR_HTTP_INVALID_HEADER', 'ERR_HTTP_INVALID_HEADER', 'ERR_HTTP_INVALID_HEADER']);
      expect(view.status).toBe(200);
    });

    it('a header value with CR, LF or NUL is refused (no header injection)', async () => {
      const seen: string[] = [];
      const view = await host.serve((req) => {
        seen.push(attempt(() => req.setHeader('X-A', 'a\r\nInjected: yes')));
        seen.push(attempt(() => req.addHeader('X-B', 'b\u0000')));
        req.finish();
      });
      expect(seen).toEqual(['ERR_HTTP_INVALID_HEADER', 'ERR_HTTP_INVALID_HEADER']);
      expect(view.headers['injected']).toBeUndefined();
    });

    it("Transfer-Encoding is the server's to set: the app setting it is refused", async () => {
      const seen: string[] = [];
      const view = await host.serve((req) => {
        seen.push(attempt(() => req.setHeader('Transfer-Encoding', 'x')));
        req.write('body');
        req.finish();
      });
      expect(seen).toEqual(['ERR_HTTP_INVALID_HEADER']);
      expect(view.body).toBe('body');
    });

    it('a Content-Length that is not decimal digits is refused', async () => {
      const seen: string[] = [];
      await host.serve((req) => {
        seen.push(attempt(() => req.setHeader('Content-Length', '12abc')));
        req.finish();
      });
      expect(seen).toEqual(['ERR_HTTP_INVALID_HEADER']);
    });

    it('a Content-Length with SP/HTAB around its digits is taken (as startResponse takes it) and sent as the digits', async () => {
      const seen: string[] = [];
      const view = await host.serve((req) => {
        seen.push(attempt(() => req.setHeader('Content-Length', ' 5\t')));
        seen.push(attempt(() => req.addHeader('X-Space', 'a')));
        seen.push(String(req.getResponseHeader('content-length')));
        req.write('hello');
        req.finish();
      });
      expect(seen).toEqual(['ok', 'ok', '5']);
      if (host.caps?.wire === false) return;
      expect([view.status, view.headers['content-length'], view.body]).toEqual([200, '5', 'hello']);
    });

    it('status and headers are fixed once the body started: setHeader, addHeader, removeHeader, setResponseCode throw HeadersSentError', async () => {
      const seen: string[] = [];
      const view = await host.serve((req) => {
        req.setHeader('X-Early', '1');
        req.write('x');
        seen.push(attempt(() => req.setHeader('X-Late', '1')));
        seen.push(attempt(() => req.addHeader('X-Late', '1')));
        seen.push(attempt(() => req.removeHeader('X-Early')));
        seen.push(attempt(() => req.setResponseCode(201)));
        req.finish();
      });
      expect(seen).toEqual([
        'ERR_HTTP_HEADERS_SENT',
        'ERR_HTTP_HEADERS_SENT',
        'ERR_HTTP_HEADERS_SENT',
        'ERR_HTTP_HEADERS_SENT',
      ]);
      expect(view.status).toBe(200);
      expect(view.headers['x-early']).toBe('1');
      expect(view.headers['x-late']).toBeUndefined();
      expect(view.body).toBe('x');
    });

    it('an empty write does not start the response: headers may still change', async () => {
      const seen: string[] = [];
      const view = await host.serve((req) => {
        req.write('');
        req.write(new Uint8Array(0));
        seen.push(attempt(() => req.setHeader('X-After-Empty', 'yes')));
        seen.push(attempt(() => req.setResponseCode(202)));
        req.finish();
      });
      expect(seen).toEqual(['ok', 'ok']);
      expect(view.status).toBe(202);
      expect(view.headers['x-after-empty']).toBe('yes');
    });

    it('an invalid status code is refused (InvalidStatusError)', async () => {
      const seen: string[] = [];
      await host.serve((req) => {
        seen.push(attempt(() => req.setResponseCode(99)));
        seen.push(attempt(() => req.setResponseCode(600)));
        seen.push(attempt(() => req.setResponseCode(200.5)));
        req.finish();
      });
      expect(seen).toEqual(['ERR_HTTP_INVALID_STATUS', 'ERR_HTTP_INVALID_STATUS', 'ERR_HTTP_INVALID_STATUS']);
    });

    it('status, phrase, headers (repeats kept) and body reach the client; getResponseHeader joins repeats', async () => {
      let joined: string | undefined;
      const view = await host.serve((req) => {
        req.setResponseCode(201, 'Made');
        req.addHeader('X-Multi', 'a');
        req.addHeader('x-multi', 'b');
        joined = req.getResponseHeader('X-MULTI');
        req.setHeader('Content-Type', 'text/plain');
        req.write('hello ');
        req.write(new TextEncoder().encode('world'));
        req.finish();
      });
      expect(joined).toBe('a, b');
      expect(view.status).toBe(201);
      expect(view.headers['x-multi']).toBe('a, b');
      expect(view.body).toBe('hello world');
    });

    it('finish() twice and write() after finish() throw RequestFinishedError', async () => {
      const seen: string[] = [];
      await host.serve((req) => {
        req.write('a');
        req.finish();
        seen.push(attempt(() => req.finish()));
        seen.push(attempt(() => req.write('b')));
      });
      expect(seen).toEqual(['ERR_REQUEST_FINISHED', 'ERR_REQUEST_FINISHED']);
    });

    it('notifyFinish() fires once the response was handed over; asked afterwards it fires at once', async () => {
      const events: string[] = [];
      let request!: IRequest;
      await host.serve((req) => {
        request = req;
        req.notifyFinish().addCallbacks(
          () => void events.push('finished'),
          () => void events.push('lost'),
        );
        req.write('x');
        req.finish();
      });
      // Some hosts hand the response over on a later turn: wait for the first waiter.
      for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setImmediate(r));
      expect(events).toEqual(['finished']);
      let late = 'pending';
      request.notifyFinish().addCallbacks(
        () => void (late = 'finished'),
        () => void (late = 'lost'),
      );
      expect(late).toBe('finished');
    });

    it('a second registerProducer throws ProducerAlreadyRegisteredError; after unregister one may register again', async () => {
      const seen: string[] = [];
      const view = await host.serve((req) => {
        req.registerProducer(noopProducer(), true);
        seen.push(attempt(() => req.registerProducer(noopProducer(), true)));
        req.unregisterProducer();
        seen.push(attempt(() => req.registerProducer(noopProducer(), true)));
        req.unregisterProducer();
        req.write('done');
        req.finish();
      });
      expect(seen).toEqual(['ERR_PRODUCER_REGISTERED', 'ok']);
      expect(view.body).toBe('done');
    });

    if (host.caps?.wire !== false)
      it('HEAD and 204 carry no body: what the app writes is dropped', async () => {
        const head = await host.serve(
          (req) => {
            req.write('not for HEAD');
            req.finish();
          },
          { method: 'HEAD' },
        );
        expect(head.status).toBe(200);
        expect(head.body).toBe('');
        const none = await host.serve((req) => {
          req.setResponseCode(204);
          req.write('not for 204');
          req.finish();
        });
        expect(none.status).toBe(204);
        expect(none.body).toBe('');
      });

    it('the body is read once: readBody gives it whole, a second read throws BodyAlreadyConsumedError', async () => {
      const seen: string[] = [];
      const view = await host.serve(
        (req) => {
          req.readBody().addCallback((body: Uint8Array) => {
            seen.push(attempt(() => req.readBody()));
            req.write(`got ${new TextDecoder().decode(body)}`);
            req.finish();
          });
        },
        { method: 'POST', body: 'payload' },
      );
      expect(seen).toEqual(['ERR_HTTP_BODY_CONSUMED']);
      expect(view.body).toBe('got payload');
    });

    if (host.caps?.wire !== false)
      it('an app that throws before writing gets a 500', async () => {
        const view = await host.serve(() => {
          throw new Error('the app failed on purpose');
        });
        expect(view.status).toBe(500);
      });
  });
}
