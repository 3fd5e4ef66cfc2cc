/**
 * The `spindle` command line, parsed without a process: every option, every
 * malformed value, and the help text listing what the parser accepts.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs, splitTarget, type ServeOptions } from '../src/cli/args.js';
import { EXIT_USAGE, UsageError } from '../src/cli/errors.js';
import { MAIN_HELP, SERVE_HELP, readVersion } from '../src/cli/help.js';

function serveOptions(argv: string[]): ServeOptions {
  const command = parseArgs(argv);
  if (command.kind !== 'serve') throw new Error(`expected serve, got ${command.kind}`);
  return command.options;
}

function usageError(argv: string[]): UsageError {
  try {
    parseArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`);
}

describe('spindle serve options', () => {
  it('defaults to 127.0.0.1:8080, text logs, no style, no threads or processes', () => {
    expect(serveOptions(['serve', 'app.mjs'])).toEqual({
      module: 'app.mjs',
      exportName: undefined,
      style: undefined,
      port: 8080,
      host: '127.0.0.1',
      listen: [{ kind: 'tcp', port: 8080, host: '127.0.0.1' }],
      threads: undefined,
      processes: undefined,
      accessLog: undefined,
      logFormat: 'text',
    });
  });

  it('--listen is repeatable and takes endpoint strings, in order; --port/--host are the short form of one tcp: listener', () => {
    expect(
      serveOptions([
        'serve',
        'app.mjs',
        '--listen',
        'tcp:8080:interface=0.0.0.0',
        '--listen=unix:/run/app.sock:mode=660',
      ]).listen,
    ).toEqual([
      { kind: 'tcp', port: 8080, host: '0.0.0.0' },
      { kind: 'unix', path: '/run/app.sock', mode: 0o660 },
    ]);
    expect(serveOptions(['serve', 'app.mjs', '--port', '0', '--host', '::1']).listen).toEqual([
      { kind: 'tcp', port: 0, host: '::1' },
    ]);
    expect(
      serveOptions(['serve', 'app.mjs', '--port', '8443', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']).listen,
    ).toEqual([{ kind: 'tls', port: 8443, host: '127.0.0.1', privateKey: 'k.pem', certKey: 'c.pem' }]);
  });

  it('refuses a bad --listen string with the endpoint error, --listen with --port, and half of --tls-cert/--tls-key', () => {
    expect(() => parseArgs(['serve', 'app.mjs', '--listen', 'tls:8443'])).toThrow(
      /--listen: bad endpoint "tls:8443": privateKey is missing; for example tls:8443:privateKey=key.pem:certKey=cert.pem/,
    );
    expect(() => parseArgs(['serve', 'app.mjs', '--listen', 'tcp:1', '--port', '2'])).toThrow(
      /--port cannot be used with --listen/,
    );
    expect(() => parseArgs(['serve', 'app.mjs', '--tls-cert', 'c.pem'])).toThrow(/--tls-cert needs --tls-key too/);
    expect(() =>
      parseArgs(['serve', 'app.mjs', '--listen', 'tcp:1', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']),
    ).toThrow(UsageError);
  });

  it('reads every option in both --opt value and --opt=value forms', () => {
    const spaced = serveOptions([
      'serve',
      './a.ts:handler',
      '--style',
      'iter',
      '--port',
      '0',
      '--host',
      '0.0.0.0',
      '--threads',
      '4',
      '--processes',
      '2',
      '--log-format',
      'json',
      '--access-log',
      'access.log',
    ]);
    const inline = serveOptions([
      'serve',
      './a.ts:handler',
      '--style=iter',
      '--port=0',
      '--host=0.0.0.0',
      '--threads=4',
      '--processes=2',
      '--log-format=json',
      '--access-log=access.log',
    ]);
    expect(spaced).toEqual(inline);
    expect(spaced).toMatchObject({
      module: './a.ts',
      exportName: 'handler',
      style: 'iter',
      port: 0,
      host: '0.0.0.0',
      threads: 4,
      processes: 2,
      logFormat: 'json',
      accessLog: 'access.log',
    });
  });

  it('--allow-half-open is a flag: absent it is off, given it is on, a value is refused', () => {
    expect(serveOptions(['serve', 'app.mjs']).allowHalfOpen).toBeUndefined();
    expect(serveOptions(['serve', 'app.mjs', '--allow-half-open'])).toMatchObject({
      module: 'app.mjs',
      allowHalfOpen: true,
    });
    expect(serveOptions(['serve', '--allow-half-open', 'app.mjs', '--port', '0'])).toMatchObject({
      module: 'app.mjs',
      allowHalfOpen: true,
      port: 0,
    });
    expect(() => parseArgs(['serve', 'app.mjs', '--allow-half-open=yes'])).toThrow(/--allow-half-open takes no value/);
    expect(SERVE_HELP).toContain('--allow-half-open');
  });

  it('--trusted-proxy is repeatable and takes comma-separated entries; a bad entry is a usage error naming it', () => {
    expect(serveOptions(['serve', 'app.mjs']).trustedProxies).toBeUndefined();
    expect(
      serveOptions(['serve', 'app.mjs', '--trusted-proxy', '10.0.0.0/8', '--trusted-proxy=::1,192.168.0.7']),
    ).toMatchObject({ trustedProxies: ['10.0.0.0/8', '::1', '192.168.0.7'] });
    const err = usageError(['serve', 'app.mjs', '--trusted-proxy', 'lb.internal']);
    expect(err.message).toMatch(
      /--trusted-proxy: bad trusted proxy "lb\.internal": not an IPv4 or IPv6 address; give an address or a CIDR range/,
    );
    expect(() => parseArgs(['serve', 'app.mjs', '--port', '1', '--port', '2'])).toThrow(/--port given twice/);
    expect(SERVE_HELP).toContain('--trusted-proxy');
  });

  it('lets options come before MODULE', () => {
    expect(serveOptions(['serve', '--port', '9000', '--style', 'cps', 'app.mjs'])).toMatchObject({
      module: 'app.mjs',
      port: 9000,
      style: 'cps',
    });
  });

  it('--access-log alone, or followed by an option or before MODULE, means stdout', () => {
    expect(serveOptions(['serve', 'app.mjs', '--access-log']).accessLog).toBe('-');
    expect(serveOptions(['serve', 'app.mjs', '--access-log', '--port', '1']).accessLog).toBe('-');
    expect(serveOptions(['serve', '--access-log', 'app.mjs']).accessLog).toBe('-');
    expect(serveOptions(['serve', '--access-log', 'app.mjs']).module).toBe('app.mjs');
    expect(serveOptions(['serve', 'app.mjs', '--access-log', '-']).accessLog).toBe('-');
    expect(serveOptions(['serve', 'app.mjs', '--access-log', 'x.log']).accessLog).toBe('x.log');
  });

  it('splits MODULE:EXPORT at the last colon only when an identifier follows', () => {
    expect(splitTarget('app.mjs:app')).toEqual({ module: 'app.mjs', exportName: 'app' });
    expect(splitTarget('/abs/path/app.mjs:$handler_2')).toEqual({
      module: '/abs/path/app.mjs',
      exportName: '$handler_2',
    });
    expect(splitTarget('file:///srv/app.mjs')).toEqual({ module: 'file:///srv/app.mjs', exportName: undefined });
    expect(splitTarget('file:///srv/app.mjs:api')).toEqual({ module: 'file:///srv/app.mjs', exportName: 'api' });
    expect(splitTarget('C:\\srv\\app.mjs')).toEqual({ module: 'C:\\srv\\app.mjs', exportName: undefined });
    expect(splitTarget('./app.mjs')).toEqual({ module: './app.mjs', exportName: undefined });
  });

  it('accepts the port bounds 0 and 65535', () => {
    expect(serveOptions(['serve', 'a', '--port', '0']).port).toBe(0);
    expect(serveOptions(['serve', 'a', '--port', '65535']).port).toBe(65535);
  });
});

describe('spindle usage errors', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['no command', [], /missing command/],
    ['an unknown command', ['run', 'app.mjs'], /unknown command 'run'/],
    ['serve without MODULE', ['serve', '--port', '1'], /needs MODULE\[:EXPORT\]/],
    ['two modules', ['serve', 'a.mjs', 'b.mjs'], /takes one MODULE\[:EXPORT\], got 2/],
    ['an unknown option', ['serve', 'a.mjs', '--bogus'], /unknown option '--bogus'/],
    ['a bad style', ['serve', 'a.mjs', '--style', 'wsgi'], /--style expects one of iter, cps, fetch, got 'wsgi'/],
    [
      'a port that is not a number',
      ['serve', 'a.mjs', '--port', 'http'],
      /--port expects a whole number from 0 to 65535, got 'http'/,
    ],
    ['a port out of range', ['serve', 'a.mjs', '--port', '65536'], /got 65536/],
    ['a negative port', ['serve', 'a.mjs', '--port=-1'], /got '-1'/],
    ['a missing value', ['serve', 'a.mjs', '--port'], /--port needs a value/],
    ['an option as a value', ['serve', 'a.mjs', '--style', '--port', '1'], /--style needs a value/],
    ['an empty host', ['serve', 'a.mjs', '--host='], /--host needs a host name/],
    ['zero threads', ['serve', 'a.mjs', '--threads', '0'], /--threads expects a whole number from 1 to 256, got 0/],
    [
      'too many processes',
      ['serve', 'a.mjs', '--processes', '1000'],
      /--processes expects a whole number from 1 to 256, got 1000/,
    ],
    ['a bad log format', ['serve', 'a.mjs', '--log-format', 'xml'], /--log-format expects one of text, json/],
    ['an option twice', ['serve', 'a.mjs', '--port', '1', '--port', '2'], /--port given twice/],
    [
      '--threads with a non-iter style',
      ['serve', 'a.mjs', '--threads', '2', '--style', 'cps'],
      /needs --style iter, got --style cps/,
    ],
    ['a trailing colon', ['serve', 'a.mjs:'], /ends with ':' but names no export/],
  ];
  for (const [what, argv, message] of cases) {
    it(`rejects ${what} with exit code ${EXIT_USAGE}`, () => {
      const err = usageError(argv);
      expect(err.message).toMatch(message);
      expect(err.message).toMatch(/try 'spindle --help'$/);
      expect(err.exitCode).toBe(EXIT_USAGE);
      expect(err.code).toBe('ERR_CLI_USAGE');
      expect(err.message).not.toContain('\n');
    });
  }
});

describe('help and version', () => {
  it('--help, -h and help print the main help; serve --help the serve help', () => {
    expect(parseArgs(['--help'])).toEqual({ kind: 'help', topic: 'main' });
    expect(parseArgs(['-h'])).toEqual({ kind: 'help', topic: 'main' });
    expect(parseArgs(['help', 'serve'])).toEqual({ kind: 'help', topic: 'serve' });
    expect(parseArgs(['serve', '--help'])).toEqual({ kind: 'help', topic: 'serve' });
    expect(parseArgs(['serve', 'a.mjs', '-h'])).toEqual({ kind: 'help', topic: 'serve' });
  });

  it('the serve help lists every option the parser accepts', () => {
    for (const option of [
      '--style',
      '--port',
      '--host',
      '--threads',
      '--processes',
      '--access-log',
      '--log-format',
      '--help',
    ]) {
      expect(SERVE_HELP).toContain(option);
      if (option !== '--help' && option !== '--access-log')
        expect(() => parseArgs(['serve', 'a.mjs', option])).toThrow(/needs a value/);
    }
    expect(MAIN_HELP).toContain('serve MODULE[:EXPORT]');
  });

  it('--version reads the version from package.json', () => {
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
    expect(readVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
