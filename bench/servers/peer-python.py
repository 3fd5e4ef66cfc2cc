"""Python peers for bench/peers.ts: `peer-python.py KIND hello` serves the same
12-byte hello and prints `listening PORT`. KIND: twisted-site (twisted.web
Resource), twisted-wsgi (WSGIResource on the reactor's thread pool), gevent
(gevent.pywsgi). Run only when python3 can import the module (Debian's
python3-twisted / python3-gevent); bench/peers.ts skips them otherwise."""
import sys

BODY = b"hello world!"


def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [BODY]


def twisted(kind):
    from twisted.internet import reactor
    from twisted.web.resource import Resource
    from twisted.web.server import Site
    from twisted.web.wsgi import WSGIResource

    class Hello(Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"Content-Type", b"text/plain")
            return BODY

    root = Hello() if kind == "twisted-site" else WSGIResource(reactor, reactor.getThreadPool(), wsgi_app)
    site = Site(root)
    site.noisy = False
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    print("listening %d" % port.getHost().port, flush=True)
    reactor.run()


def gevent():
    from gevent.pywsgi import WSGIServer

    server = WSGIServer(("127.0.0.1", 0), wsgi_app, log=None)
    server.start()
    print("listening %d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "gevent":
        gevent()
    else:
        twisted(kind)
