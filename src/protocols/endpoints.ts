/**
 * Endpoint strings, in Twisted's syntax (`twisted.internet.endpoints`): one
 * string says where and how to listen or connect, so a command line or a
 * config file can pick TCP, TLS or a Unix socket without code.
 *
 *     serverFromString(reactor, 'tcp:8080:interface=127.0.0.1').listen(factory)
 *     serverFromString(reactor, 'tls:8443:privateKey=key.pem:certKey=cert.pem').listen(factory)
 *     serverFromString(reactor, 'unix:/run/app.sock:mode=660').listen(factory)
 *     clientFromString(reactor, 'tls:host=example.org:port=443').connect(factory)
 *
 * A description is a kind, then parts separated by ':'; a part is positional
 * or `key=value`. A backslash takes the next character literally, so `\:`
 * is a colon inside a part (`tcp:host=\:\:1:port=80` is IPv6 ::1). Parsing is
 * separate from use (`parseServerEndpoint`, `parseClientEndpoint`): a bad
 * string fails at once with one `EndpointSyntaxError` naming the wrong part
 * and showing a correct example; files (TLS keys) are read when listening.
 */
import { readFileSync } from 'node:fs';
import type { Deferred } from '../reactor/deferred.js';
import { fail } from '../reactor/deferred.js';
import type {
  IClientFactory,
  IConnector,
  IListeningPort,
  IProtocolFactory,
  IReactor,
  IReactorTLS,
  IReactorUNIX,
} from '../reactor/interfaces.js';
import { EndpointFileError, EndpointSyntaxError } from './errors.js';

export { EndpointFileError, EndpointSyntaxError };

/** A reactor that can listen and connect on every kind an endpoint string names. */
export type EndpointReactor = IReactor & IReactorTLS & IReactorUNIX;

export type ServerEndpointSpec =
  | { kind: 'tcp'; port: number; host?: string; backlog?: number }
  | {
      kind: 'tls';
      port: number;
      host?: string;
      backlog?: number;
      privateKey: string;
      certKey: string;
      extraCertChain?: string;
    }
  | { kind: 'unix'; path: string; mode?: number; backlog?: number };

export type ClientEndpointSpec =
  | { kind: 'tcp'; host: string; port: number; timeout?: number }
  | {
      kind: 'tls';
      host: string;
      port: number;
      timeout?: number;
      trustRoots?: string;
      certificate?: string;
      privateKey?: string;
      servername?: string;
    }
  | { kind: 'unix'; path: string; timeout?: number };

/** Where to listen, as `serverFromString` returns it (Twisted's `IStreamServerEndpoint`). */
export interface IStreamServerEndpoint {
  readonly spec: ServerEndpointSpec;
  listen(factory: IProtocolFactory): Deferred<IListeningPort>;
}

/** Where to connect, as `clientFromString` returns it. */
export interface IStreamClientEndpoint {
  readonly spec: ClientEndpointSpec;
  /** Start connecting; the factory hears how it goes, as with `connectTCP`. */
  connect(factory: IClientFactory): IConnector;
}

const SERVER_EXAMPLES = {
  tcp: 'tcp:8080:interface=127.0.0.1',
  tls: 'tls:8443:privateKey=key.pem:certKey=cert.pem',
  unix: 'unix:/run/app.sock:mode=660',
} as const;

const CLIENT_EXAMPLES = {
  tcp: 'tcp:host=example.org:port=80',
  tls: 'tls:host=example.org:port=443',
  unix: 'unix:path=/run/app.sock',
} as const;

interface Parsed {
  kind: string;
  args: string[];
  kwargs: Map<string, string>;
}

/** Split on unescaped ':' and the first unescaped '=' of each part (Twisted's `_tokenize`). */
function tokenize(desc: string, examples: Record<string, string>): Parsed {
  const parts: { key: string | null; value: string }[] = [];
  let cur = '';
  let key: string | null = null;
  for (let i = 0; i < desc.length; i++) {
    const c = desc[i]!;
    if (c === '\\') {
      if (i + 1 >= desc.length)
        throw new EndpointSyntaxError(
          desc,
          'end',
          'it ends with a lone backslash (a backslash escapes the next character)',
          Object.values(examples)[0]!,
        );
      cur += desc[++i];
    } else if (c === ':') {
      parts.push({ key, value: cur });
      cur = '';
      key = null;
    } else if (c === '=' && key === null) {
      key = cur;
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push({ key, value: cur });
  const head = parts.shift()!;
  const kinds = Object.keys(examples);
  if (head.key !== null || !kinds.includes(head.value)) {
    const shown = head.key !== null ? `${head.key}=${head.value}` : head.value;
    throw new EndpointSyntaxError(
      desc,
      'kind',
      `the kind ${JSON.stringify(shown)} is not one of ${kinds.join(', ')}`,
      Object.values(examples).join(' or '),
    );
  }
  const args: string[] = [];
  const kwargs = new Map<string, string>();
  for (const p of parts) {
    if (p.key === null) {
      if (kwargs.size > 0)
        throw new EndpointSyntaxError(
          desc,
          p.value,
          `the positional part ${JSON.stringify(p.value)} comes after a key=value part`,
          examples[head.value]!,
        );
      args.push(p.value);
    } else {
      if (p.key === '')
        throw new EndpointSyntaxError(
          desc,
          `=${p.value}`,
          `the part "=${p.value}" has no key before '='`,
          examples[head.value]!,
        );
      if (kwargs.has(p.key))
        throw new EndpointSyntaxError(desc, p.key, `${p.key} is given twice`, examples[head.value]!);
      kwargs.set(p.key, p.value);
    }
  }
  return { kind: head.value, args, kwargs };
}

/** Reads the parts of one parsed description, failing with the kind's example. */
class Parts {
  constructor(
    private readonly desc: string,
    private readonly p: Parsed,
    private readonly example: string,
  ) {}

  fail(part: string, problem: string): never {
    throw new EndpointSyntaxError(this.desc, part, problem, this.example);
  }

  /** Positional parts in order, each also accepted as `name=value`. */
  positional(names: string[]): Map<string, string> {
    if (this.p.args.length > names.length)
      this.fail(
        this.p.args[names.length]!,
        `too many positional parts: ${this.p.kind} takes ${names.join(' then ')} before its key=value parts`,
      );
    const out = new Map<string, string>();
    this.p.args.forEach((v, i) => {
      const name = names[i]!;
      if (this.p.kwargs.has(name)) this.fail(name, `${name} is given twice (as a positional part and as ${name}=)`);
      out.set(name, v);
    });
    for (const name of names) if (this.p.kwargs.has(name)) out.set(name, this.p.kwargs.get(name)!);
    return out;
  }

  only(allowed: string[]): void {
    for (const k of this.p.kwargs.keys()) {
      if (!allowed.includes(k))
        this.fail(k, `${k}= is not a part of a ${this.p.kind} endpoint (it takes ${allowed.join(', ')})`);
    }
  }

  get(name: string): string | undefined {
    return this.p.kwargs.get(name);
  }

  required(value: string | undefined, name: string): string {
    if (value === undefined || value === '') this.fail(name, `${name} is missing`);
    return value;
  }

  int(value: string | undefined, name: string, min: number, max: number): number | undefined {
    if (value === undefined) return undefined;
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max)
      this.fail(name, `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return Number(value);
  }

  seconds(value: string | undefined, name: string): number | undefined {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(n > 0))
      this.fail(name, `${name} must be a positive number of seconds, got ${JSON.stringify(value)}`);
    return n;
  }

  /** A file mode in octal, as chmod takes it: 660, 0660 or 0o660. */
  mode(value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    const digits = value.replace(/^0o?/, '');
    if (!/^[0-7]{1,3}$/.test(digits))
      this.fail('mode', `mode must be an octal file mode such as 660, got ${JSON.stringify(value)}`);
    return parseInt(digits, 8);
  }
}

/** Parse a server endpoint description; throws `EndpointSyntaxError`. */
export function parseServerEndpoint(desc: string): ServerEndpointSpec {
  if (typeof desc !== 'string')
    throw new EndpointSyntaxError(String(desc), 'kind', 'an endpoint description is a string', SERVER_EXAMPLES.tcp);
  const p = tokenize(desc, SERVER_EXAMPLES);
  const kind = p.kind as keyof typeof SERVER_EXAMPLES;
  const r = new Parts(desc, p, SERVER_EXAMPLES[kind]);
  if (kind === 'unix') {
    r.only(['address', 'mode', 'backlog']);
    const path = r.required(r.positional(['address']).get('address'), 'address (the socket path)');
    const spec: ServerEndpointSpec = { kind, path };
    const mode = r.mode(r.get('mode'));
    if (mode !== undefined) spec.mode = mode;
    const backlog = r.int(r.get('backlog'), 'backlog', 1, 65535);
    if (backlog !== undefined) spec.backlog = backlog;
    return spec;
  }
  const common = ['port', 'interface', 'backlog'];
  r.only(kind === 'tls' ? [...common, 'privateKey', 'certKey', 'extraCertChain'] : common);
  const port = r.int(r.required(r.positional(['port']).get('port'), 'port'), 'port', 0, 65535)!;
  const host = r.get('interface');
  if (host === '') r.fail('interface', 'interface is empty; give an address such as 127.0.0.1 or 0.0.0.0');
  const backlog = r.int(r.get('backlog'), 'backlog', 1, 65535);
  const base = { port, ...(host !== undefined ? { host } : {}), ...(backlog !== undefined ? { backlog } : {}) };
  if (kind === 'tcp') return { kind, ...base };
  const privateKey = r.required(r.get('privateKey'), 'privateKey');
  const certKey = r.required(r.get('certKey'), 'certKey');
  const chain = r.get('extraCertChain');
  return { kind, ...base, privateKey, certKey, ...(chain !== undefined ? { extraCertChain: chain } : {}) };
}

/** Parse a client endpoint description; throws `EndpointSyntaxError`. */
export function parseClientEndpoint(desc: string): ClientEndpointSpec {
  if (typeof desc !== 'string')
    throw new EndpointSyntaxError(String(desc), 'kind', 'an endpoint description is a string', CLIENT_EXAMPLES.tcp);
  const p = tokenize(desc, CLIENT_EXAMPLES);
  const kind = p.kind as keyof typeof CLIENT_EXAMPLES;
  const r = new Parts(desc, p, CLIENT_EXAMPLES[kind]);
  const timeout = r.seconds(r.get('timeout'), 'timeout');
  const t = timeout !== undefined ? { timeout } : {};
  if (kind === 'unix') {
    r.only(['path', 'timeout']);
    return { kind, path: r.required(r.positional(['path']).get('path'), 'path'), ...t };
  }
  const tlsParts = ['trustRoots', 'certificate', 'privateKey', 'servername'];
  r.only(kind === 'tls' ? ['host', 'port', 'timeout', ...tlsParts] : ['host', 'port', 'timeout']);
  const pos = r.positional(['host', 'port']);
  const host = r.required(pos.get('host'), 'host');
  const port = r.int(r.required(pos.get('port'), 'port'), 'port', 1, 65535)!;
  if (kind === 'tcp') return { kind, host, port, ...t };
  const spec: ClientEndpointSpec = { kind, host, port, ...t };
  for (const name of tlsParts) {
    const v = r.get(name);
    if (v !== undefined) (spec as Record<string, unknown>)[name] = v;
  }
  if ((spec.certificate === undefined) !== (spec.privateKey === undefined))
    r.fail(
      spec.certificate === undefined ? 'certificate' : 'privateKey',
      'a client certificate needs both certificate= and privateKey=',
    );
  return spec;
}

function readPart(part: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new EndpointFileError(part, path, err);
  }
}

/** The `listenTLS` key and certificate an endpoint's files hold. */
function tlsFilesOf(spec: Extract<ServerEndpointSpec, { kind: 'tls' }>): { key: Buffer; cert: Buffer } {
  const key = readPart('privateKey', spec.privateKey);
  let cert = readPart('certKey', spec.certKey);
  if (spec.extraCertChain !== undefined)
    cert = Buffer.concat([cert, Buffer.from('\n'), readPart('extraCertChain', spec.extraCertChain)]);
  return { key, cert };
}

/** Listen as `spec` says. */
export function listenOn(
  reactor: EndpointReactor,
  spec: ServerEndpointSpec,
  factory: IProtocolFactory,
): Deferred<IListeningPort> {
  const common = { ...(spec.backlog !== undefined ? { backlog: spec.backlog } : {}) };
  switch (spec.kind) {
    case 'tcp':
      return reactor.listenTCP(spec.port, factory, {
        ...common,
        ...(spec.host !== undefined ? { host: spec.host } : {}),
      });
    case 'unix':
      return reactor.listenUNIX(spec.path, factory, {
        ...common,
        ...(spec.mode !== undefined ? { mode: spec.mode } : {}),
      });
    case 'tls': {
      let files;
      try {
        files = tlsFilesOf(spec);
      } catch (err) {
        return fail(err);
      }
      return reactor.listenTLS(spec.port, factory, {
        ...common,
        ...files,
        ...(spec.host !== undefined ? { host: spec.host } : {}),
      });
    }
  }
}

/**
 * Twisted's `serverFromString`: parse `desc` now (throwing
 * `EndpointSyntaxError` if it is malformed) and return an endpoint whose
 * `listen(factory)` binds it.
 */
export function serverFromString(reactor: EndpointReactor, desc: string): IStreamServerEndpoint {
  const spec = parseServerEndpoint(desc);
  return { spec, listen: (factory) => listenOn(reactor, spec, factory) };
}

/** Twisted's `clientFromString`: parse `desc` now and return an endpoint whose `connect(factory)` connects. */
export function clientFromString(reactor: EndpointReactor, desc: string): IStreamClientEndpoint {
  const spec = parseClientEndpoint(desc);
  return {
    spec,
    connect(factory) {
      const t = spec.timeout !== undefined ? { timeout: spec.timeout } : {};
      if (spec.kind === 'tcp') return reactor.connectTCP(spec.host, spec.port, factory, t);
      if (spec.kind === 'unix') return reactor.connectUNIX(spec.path, factory, t);
      return reactor.connectTLS(spec.host, spec.port, factory, {
        ...t,
        ...(spec.trustRoots !== undefined ? { ca: readPart('trustRoots', spec.trustRoots) } : {}),
        ...(spec.certificate !== undefined ? { cert: readPart('certificate', spec.certificate) } : {}),
        ...(spec.privateKey !== undefined ? { key: readPart('privateKey', spec.privateKey) } : {}),
        ...(spec.servername !== undefined ? { servername: spec.servername } : {}),
      });
    },
  };
}
