/**
 * Parsing the `spindle` command line. Pure: argv in, a `Command` out, or a
 * `UsageError` naming the bad argument. Nothing here touches the file system,
 * the network or the process, so every error path is a plain unit test.
 */
import { UsageError } from './errors.js';
import { parseServerEndpoint, type ServerEndpointSpec } from '../protocols/endpoints.js';
import { EndpointSyntaxError } from '../protocols/errors.js';
import { TrustedProxies } from '../protocols/http/forwarded.js';
import { TrustedProxyError } from '../protocols/errors.js';

export type Style = 'iter' | 'cps' | 'fetch';
export type LogFormat = 'text' | 'json';

export const STYLES: readonly Style[] = ['iter', 'cps', 'fetch'];
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
/** Upper bounds for --threads and --processes: a typo like 1000 is refused, not obeyed. */
export const MAX_THREADS = 256;
export const MAX_PROCESSES = 256;

export interface ServeOptions {
  /** MODULE as given: a path (relative to the working directory or absolute) or a file: URL. */
  module: string;
  /** EXPORT from MODULE:EXPORT; undefined means `default`, then `app`. */
  exportName: string | undefined;
  /** --style; undefined asks for detection (see load.ts). */
  style: Style | undefined;
  port: number;
  host: string;
  /**
   * Where to listen, in order: each --listen DESC (endpoint strings), or one
   * TCP listener on --host/--port (TLS with --tls-cert/--tls-key).
   */
  listen?: ServerEndpointSpec[];
  /** --threads N: run an iter app on N worker threads. */
  threads: number | undefined;
  /** --processes N: N processes (node:cluster) share the port. */
  processes: number | undefined;
  /** --access-log: '-' for stdout, else a file path; undefined for none. */
  accessLog: string | undefined;
  logFormat: LogFormat;
  /** --allow-half-open: a client's FIN is a half-close, not the client leaving (HTTPServerOptions.allowHalfOpen). */
  allowHalfOpen?: boolean;
  /** --trusted-proxy (repeatable, or comma-separated): HTTPServerOptions.trustedProxies. */
  trustedProxies?: string[];
}

export type Command =
  { kind: 'help'; topic: 'main' | 'serve' } | { kind: 'version' } | { kind: 'serve'; options: ServeOptions };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** Options that may be given more than once (their values add up). */
const REPEATABLE = new Set(['--listen', '--trusted-proxy']);

/**
 * Split `MODULE[:EXPORT]`. The export is the part after the last ':' when it is
 * an identifier, so `file:///srv/app.mjs`, `C:\app.mjs` and `./app.mjs` keep
 * their colons, and `./app.mjs:handler` names `handler`.
 */
export function splitTarget(target: string): { module: string; exportName: string | undefined } {
  const colon = target.lastIndexOf(':');
  if (colon > 1) {
    const suffix = target.slice(colon + 1);
    if (IDENTIFIER.test(suffix)) return { module: target.slice(0, colon), exportName: suffix };
  }
  if (target.endsWith(':'))
    throw new UsageError(`'${target}' ends with ':' but names no export; write MODULE:EXPORT or just MODULE`);
  return { module: target, exportName: undefined };
}

function parseInteger(option: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text))
    throw new UsageError(`${option} expects a whole number from ${min} to ${max}, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${option} expects a whole number from ${min} to ${max}, got ${n}`);
  return n;
}

function parseChoice<T extends string>(option: string, text: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${option} expects one of ${choices.join(', ')}, got '${text}'`);
}

/** Parse the arguments after `spindle` (process.argv.slice(2)). */
export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError("missing command: expected 'serve MODULE[:EXPORT]'");
  if (command === '--help' || command === '-h' || command === 'help')
    return { kind: 'help', topic: rest[0] === 'serve' ? 'serve' : 'main' };
  if (command === '--version' || command === '-V') return { kind: 'version' };
  if (command !== 'serve') throw new UsageError(`unknown command '${command}': the only command is 'serve'`);
  return parseServe(rest);
}

function parseServe(argv: readonly string[]): Command {
  const positional: string[] = [];
  const seen = new Set<string>();
  let style: Style | undefined;
  let port = DEFAULT_PORT;
  let host = DEFAULT_HOST;
  let threads: number | undefined;
  let processes: number | undefined;
  let accessLog: string | undefined;
  let logFormat: LogFormat = 'text';
  let allowHalfOpen = false;
  const listen: ServerEndpointSpec[] = [];
  let tlsCert: string | undefined;
  let tlsKey: string | undefined;
  const trustedProxies: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (name === '--help' || name === '-h') return { kind: 'help', topic: 'serve' };
    if (seen.has(name) && !REPEATABLE.has(name)) throw new UsageError(`${name} given twice`);
    seen.add(name);
    // An option's value is `--opt=value` or the next argument.
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${name} needs a value`);
      i++;
      return next;
    };
    switch (name) {
      case '--style':
        style = parseChoice(name, value(), STYLES);
        break;
      case '--port':
        port = parseInteger(name, value(), 0, 65535);
        break;
      case '--host': {
        host = value();
        if (host === '') throw new UsageError('--host needs a host name or address, got an empty string');
        break;
      }
      case '--threads':
        threads = parseInteger(name, value(), 1, MAX_THREADS);
        break;
      case '--processes':
        processes = parseInteger(name, value(), 1, MAX_PROCESSES);
        break;
      case '--access-log': {
        // The value is optional: `--access-log` alone (or followed by another
        // option or the module) logs to stdout.
        if (inline !== undefined) accessLog = inline === '' ? '-' : inline;
        else {
          const next = argv[i + 1];
          accessLog =
            next !== undefined && (next === '-' || (!next.startsWith('-') && positional.length > 0))
              ? (i++, next)
              : '-';
        }
        break;
      }
      case '--log-format':
        logFormat = parseChoice(name, value(), LOG_FORMATS);
        break;
      case '--listen': {
        const desc = value();
        try {
          listen.push(parseServerEndpoint(desc));
        } catch (err) {
          if (err instanceof EndpointSyntaxError) throw new UsageError(`--listen: ${err.message}`);
          throw err;
        }
        break;
      }
      case '--tls-cert':
        tlsCert = value();
        break;
      case '--tls-key':
        tlsKey = value();
        break;
      case '--trusted-proxy':
        for (const entry of value().split(',')) {
          try {
            new TrustedProxies([entry]);
          } catch (err) {
            if (err instanceof TrustedProxyError) throw new UsageError(`--trusted-proxy: ${err.message}`);
            throw err;
          }
          trustedProxies.push(entry);
        }
        break;
      case '--allow-half-open':
        if (inline !== undefined) throw new UsageError(`--allow-half-open takes no value, got '${inline}'`);
        allowHalfOpen = true;
        break;
      default:
        throw new UsageError(`unknown option '${name}' for 'serve'`);
    }
  }

  if (positional.length === 0)
    throw new UsageError("'serve' needs MODULE[:EXPORT], e.g. 'spindle serve ./app.ts:app --style iter'");
  if (positional.length > 1)
    throw new UsageError(`'serve' takes one MODULE[:EXPORT], got ${positional.length}: ${positional.join(' ')}`);
  const target = splitTarget(positional[0]!);
  if (threads !== undefined && style !== undefined && style !== 'iter') {
    throw new UsageError(
      `--threads runs an iterator app on worker threads; it needs --style iter, got --style ${style}`,
    );
  }
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UsageError(
      `${tlsCert === undefined ? '--tls-key' : '--tls-cert'} needs ${tlsCert === undefined ? '--tls-cert' : '--tls-key'} too: --tls-cert FILE --tls-key FILE serve HTTPS on --port`,
    );
  }
  if (listen.length > 0) {
    const shortForm = ['--port', '--host', '--tls-cert', '--tls-key'].filter((o) => seen.has(o));
    if (shortForm.length > 0) {
      throw new UsageError(
        `${shortForm.join(' and ')} cannot be used with --listen: --port/--host (and --tls-cert/--tls-key) are the short form of one --listen; put the port and host in the --listen string, e.g. --listen tcp:${port}:interface=${host}`,
      );
    }
  } else if (tlsCert !== undefined && tlsKey !== undefined) {
    listen.push({ kind: 'tls', port, host, privateKey: tlsKey, certKey: tlsCert });
  } else {
    listen.push({ kind: 'tcp', port, host });
  }
  return {
    kind: 'serve',
    options: {
      ...target,
      style,
      port,
      host,
      listen,
      threads,
      processes,
      accessLog,
      logFormat,
      ...(allowHalfOpen ? { allowHalfOpen } : {}),
      ...(trustedProxies.length > 0 ? { trustedProxies } : {}),
    },
  };
}
