/**
 * examples/chat.ts as `nc` users meet it: a member whose input ends (Ctrl-D,
 * or `printf 'ann\nhi\n' | nc ...`) half-closes the socket. The server must
 * then close that connection and tell the room, not hold it open for ever
 * (its flow-control producer is registered for the life of the connection,
 * and loseConnection waits for a registered producer).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, startNode, stopAll, waitForStdout } from './cli-process.js';

afterEach(stopAll);

function collect(socket: Socket): { text: () => string; waitFor: (s: string) => Promise<void> } {
  let text = '';
  const waiters: Array<() => void> = [];
  socket.setEncoding('utf8').on('data', (d: string) => {
    text += d;
    for (const w of waiters.splice(0)) w();
  });
  return {
    text: () => text,
    waitFor: async (s) => {
      while (!text.includes(s)) await new Promise<void>((done) => waiters.push(done));
    },
  };
}

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
  return socket;
}

describe('examples/chat.ts and a client that half-closes', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('closes the half-closed member and announces that it left', async () => {
    const child = startNode(['examples/chat.ts', '0']);
    const port = Number((await waitForStdout(child, /listening on 127\.0\.0\.1:(\d+)/))[1]);
    const bob = await open(port);
    const bobSees = collect(bob);
    await bobSees.waitFor('What is your name?');
    bob.write('bob\r\n');
    await bobSees.waitFor('Hello bob');

    const ann = await open(port);
    const annSees = collect(ann);
    ann.on('error', () => undefined); // the server may answer the FIN with a reset
    const annClosed = new Promise<void>((done) => ann.once('close', () => done()));
    ann.write('ann\r\nbye all\r\n');
    await bobSees.waitFor('<ann> bye all\r\n');
    ann.end(); // FIN: ann's input ended

    await annClosed; // the server closed its side too
    await bobSees.waitFor('<ann> (left)\r\n');
    expect(annSees.text()).toContain('Hello ann');
    bob.destroy();
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
  });
});
