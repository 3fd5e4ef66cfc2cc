/**
 * A callback-style (CPS) HTTP app with Deferreds, Twisted.web style: the app
 * writes through the request and finishes when its Deferreds fire. Two slow
 * "services" are asked in parallel; gatherResults waits for both, addTimeout
 * bounds the wait, and a client that leaves cancels the work.
 *
 *     node --import tsx examples/http-deferred.ts      then: curl 'http://127.0.0.1:8081/?user=ada'
 *
 * PORT and HOST set the address (PORT=0 picks a free port). Ctrl-C stops it.
 */
// In your project: from 'spindle' and 'spindle/reactor'.
import { Deferred, HTTPFactory, TimeoutError, gatherResults, type CpsApp } from '../src/index.js';
import reactor from '../src/reactor/index.js';

/** A stand-in for a database or RPC call: fires after `seconds`, cancellable. */
function slowService<T>(seconds: number, value: T): Deferred<T> {
  const call = reactor.callLater(seconds, () => d.callback(value));
  const d = new Deferred<T>(() => call.cancel()); // the canceller stops the timer
  return d;
}

interface Profile {
  name: string;
  joined: number;
}

const app: CpsApp = (request) => {
  const user = new URLSearchParams(request.query).get('user') ?? 'world';
  const profile = slowService<Profile>(0.05, { name: user, joined: 2024 });
  const messages = slowService(0.08, [`welcome, ${user}`, 'you have no new mail']);
  // consumeErrors: a failed (or cancelled) member is reported once, through `both`.
  const both = gatherResults([profile, messages] as Deferred<unknown>[], true).addTimeout(2, reactor);
  // If the client goes away, cancel: the timers are cleared, nothing is written.
  request.notifyFinish().addErrback(() => both.cancel());

  request.setHeader('content-type', 'text/plain; charset=utf-8');
  return both.addCallbacks(
    (results) => {
      const [p, inbox] = results as [Profile, string[]];
      request.write(`hello ${p.name} (member since ${p.joined})\n`);
      for (const line of inbox) request.write(`- ${line}\n`);
      request.finish();
    },
    (failure) => {
      if (request.disconnected) return; // cancelled because the client left
      request.setResponseCode(failure.check(TimeoutError) ? 504 : 500);
      request.write(`could not answer: ${failure.getErrorMessage()}\n`);
      request.finish();
    },
  );
};

const port = Number(process.env.PORT ?? 8081);
const host = process.env.HOST ?? '127.0.0.1';
reactor.listenTCP(port, new HTTPFactory(app, { reactor }), { host }).addCallbacks(
  (listening) => {
    const { host: h, port: p } = listening.getHost();
    console.log(`listening on http://${h}:${p}`);
    // On Ctrl-C / SIGTERM: stop accepting before the reactor stops.
    reactor.addSystemEventTrigger('before', 'shutdown', () => listening.stopListening());
  },
  (failure) => {
    console.error(failure.getErrorMessage());
    process.exitCode = 1;
    void reactor.stop();
  },
);
reactor.run({ installSignalHandlers: true });
