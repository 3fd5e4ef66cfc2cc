/**
 * The `spindle` command's help text and version. Kept beside the parser so
 * the two cannot drift: every option the parser accepts is listed here, and a
 * test checks that.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_HOST, DEFAULT_PORT, MAX_PROCESSES, MAX_THREADS } from './args.js';
import { EXIT_APP, EXIT_FORCED, EXIT_INTERNAL, EXIT_LISTEN, EXIT_OK, EXIT_USAGE } from './errors.js';
import { REPEAT_SIGNAL_SECONDS, SHUTDOWN_GRACE_SECONDS } from './shutdown.js';

export const MAIN_HELP = `Usage: spindle <command> [options]

Commands:
  serve MODULE[:EXPORT]   serve an app over HTTP/1.1 (see 'spindle serve --help')

Options:
  -h, --help              show this help
  -V, --version           print the version
`;

export const SERVE_HELP = `Usage: spindle serve MODULE[:EXPORT] [options]

Serve the app exported by MODULE (a path relative to the working directory, an
absolute path, or a file: URL). EXPORT defaults to 'default', then 'app'.
The first line on stdout is 'listening on http://HOST:PORT' with the real port
(one 'listening on URL' line per listener: https://HOST:PORT, unix:/path).

Options:
  --style iter|cps|fetch   the app's style: an iterator (WSGI-shaped) app, a
                           continuation-passing app (request.write/finish), or a
                           Fetch handler (Request -> Response). Needed unless the
                           module says: export const style = 'iter' (every export),
                           export const styles = { EXPORT: 'cps' } (one export), the
                           app has a 'style' property, or is an object with fetch().
  --port N                 TCP port, 0 for any free one (default ${DEFAULT_PORT})
  --host H                 address to bind (default ${DEFAULT_HOST})
  --listen DESC            listen on an endpoint instead of --host/--port;
                           repeatable: tcp:8080:interface=0.0.0.0,
                           tls:8443:privateKey=key.pem:certKey=cert.pem,
                           unix:/run/app.sock:mode=660
  --tls-cert FILE --tls-key FILE
                           serve HTTPS on --host/--port (PEM files)
  --threads N              run an iter app on N worker threads (1-${MAX_THREADS}); the app
                           may block: write() and wsgi.input.read() really wait
  --processes N            N processes share the port, one reactor each (1-${MAX_PROCESSES})
  --access-log [-|FILE]    one line per response, to stdout (-, the default) or
                           appended to FILE; put it after MODULE or write
                           --access-log=FILE
  --log-format text|json   format of the access log and of spindle's own log on
                           stderr (default text)
  --allow-half-open        take a client's FIN as a half-close: answer what it
                           sent, then close (default: a FIN while a response is
                           outstanding means the client left; the app is told)
  --trusted-proxy ADDR     a proxy (address or CIDR, IPv4 or IPv6; repeatable or
                           comma-separated) whose Forwarded / X-Forwarded-For /
                           X-Forwarded-Proto headers set the client address and
                           scheme (REMOTE_ADDR, wsgi.url_scheme); ignored from others
  -h, --help               show this help

SIGINT or SIGTERM stops accepting, lets in-flight responses finish for up to
${SHUTDOWN_GRACE_SECONDS} s, then exits 0. Another signal ${REPEAT_SIGNAL_SECONDS} s or more later exits at once
with ${EXIT_FORCED}.

Exit codes:
  ${EXIT_OK}  stopped cleanly         ${EXIT_APP}  app could not be loaded
  ${EXIT_INTERNAL}  unexpected error        ${EXIT_LISTEN}  could not listen (port in use, ...)
  ${EXIT_USAGE}  bad command line        ${EXIT_FORCED}  forced stop by a second signal
`;

/** The version in spindle's package.json, found from here in src/ or dist/src/. */
export function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'spindle' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json at this level: keep walking up.
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
