/**
 * The transport conformance suite over Unix sockets (listenUNIX/connectUNIX,
 * the transport under test on either side), and the socket file's life: a
 * stale file is replaced, a live one refuses, the file goes when the port stops.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { connectUNIX, listenUNIX } from '../src/reactor/unix/index.js';
import { CannotListenError, ConnectionRefusedError } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import {
  oneShotFactory,
  runTransportSuite,
  socketMaker,
  turnUntil,
  Recorder,
  type SocketKind,
} from './transport-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'spindle-unix-'));
let n = 0;
const freshPath = () => join(dir, `s${n++}.sock`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const unix: SocketKind = {
  caps: { closes: true, halfClose: true, addresses: true, readPause: true, peerAbortResets: false },
  listen: (reactor, server) => listenUNIX(reactor, freshPath(), server).asPromise(),
  connect: (reactor, port, client) => void connectUNIX(reactor, port.getHost().path!, client),
};

runTransportSuite('Unix socket, accepting side', socketMaker(unix, true));
runTransportSuite('Unix socket, connecting side', socketMaker(unix, false));

describe('listenUNIX: the socket file', () => {
  it('addresses say unix: the accepting end has the path, REMOTE-style host is empty', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const path = freshPath();
    const server = new Recorder();
    const client = new Recorder();
    const port = await listenUNIX(reactor, path, oneShotFactory(server));
    expect(port.getHost()).toEqual({ host: '', port: 0, family: 'unix', path });
    connectUNIX(reactor, path, oneShotFactory(client));
    await turnUntil(() => server.made === 1 && client.made === 1, 'connected');
    expect(server.transport.getHost()).toEqual({ host: '', port: 0, family: 'unix', path });
    expect(server.transport.getPeer()).toEqual({ host: '', port: 0, family: 'unix', path: '' });
    expect(client.transport.getPeer()).toEqual({ host: '', port: 0, family: 'unix', path });
    client.transport.loseConnection();
    await turnUntil(() => reactor.stats.openConnections === 0, 'closed');
    await port.stopListening();
    await reactor.stop();
  });

  it('sets the mode, and removes the file when the port stops', async () => {
    const reactor = new NodeReactor();
    const path = freshPath();
    const port = await listenUNIX(reactor, path, oneShotFactory(new Recorder()), { mode: 0o600 });
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await port.stopListening();
    expect(existsSync(path)).toBe(false);
  });

  it('replaces a stale socket file left by a process that died', async () => {
    const path = freshPath();
    // A child process listens on the path and is killed: its socket file stays behind.
    const child = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(child.signal).toBe('SIGKILL');
    expect(statSync(path).isSocket()).toBe(true);
    const reactor = new NodeReactor();
    reactor.run();
    const server = new Recorder();
    const port = await listenUNIX(reactor, path, oneShotFactory(server));
    const client = new Recorder();
    connectUNIX(reactor, path, oneShotFactory(client));
    await turnUntil(() => server.made === 1, 'a client reached the new server');
    client.transport.loseConnection();
    await turnUntil(() => reactor.stats.openConnections === 0, 'closed');
    await port.stopListening();
    await reactor.stop();
  });

  it('refuses with CannotListenError when a live server holds the path, and never removes a file that is not a socket', async () => {
    const path = freshPath();
    const live = createServer();
    await new Promise<void>((r) => live.listen(path, () => r()));
    const reactor = new NodeReactor();
    reactor.run();
    const err = await listenUNIX(reactor, path, oneShotFactory(new Recorder()))
      .asPromise()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotListenError);
    expect((err as Error).message).toMatch(
      /cannot listen on unix:.*a live server is accepting connections on that socket file/,
    );
    expect(existsSync(path)).toBe(true);
    await new Promise<void>((r) => live.close(() => r()));

    const plain = freshPath();
    writeFileSync(plain, 'data');
    const err2 = await listenUNIX(reactor, plain, oneShotFactory(new Recorder()))
      .asPromise()
      .catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(CannotListenError);
    expect((err2 as Error).message).toMatch(/is not a socket file/);
    expect(existsSync(plain)).toBe(true);
    expect(reactor.stats.listeningPorts).toBe(0);
    await reactor.stop();
  });

  it('a path in a directory that does not exist says so (Node reports EACCES, not ENOENT)', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const missing = join(dir, 'no-such-dir');
    const err = await listenUNIX(reactor, join(missing, 'app.sock'), oneShotFactory(new Recorder()))
      .asPromise()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotListenError);
    expect((err as Error).message).toBe(
      `cannot listen on unix:${missing}/app.sock: the directory ${missing} does not exist; create it first (under systemd, RuntimeDirectory=)`,
    );
    expect(existsSync(missing)).toBe(false);
    await reactor.stop();
  });

  it('connectUNIX to a path where nothing listens fails with ConnectionRefusedError naming the path', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const failures: Failure[] = [];
    const path = freshPath();
    connectUNIX(reactor, path, {
      ...oneShotFactory(new Recorder()),
      clientConnectionFailed: (_c, f) => void failures.push(f),
    });
    await turnUntil(() => failures.length === 1, 'the attempt failed');
    expect(failures[0]!.value).toBeInstanceOf(ConnectionRefusedError);
    expect((failures[0]!.value as Error).message).toContain(`unix:${path}`);
    await reactor.stop();
  });
});
