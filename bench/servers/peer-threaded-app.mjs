// The iterator app bench/peers.ts runs on threadedIterApp's workers. Plain JS on
// purpose: a worker of spindle compiled by tsc imports app modules without tsx.
const BODY = Buffer.from('hello world!');

export function hello(_environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '12']]);
  return [BODY];
}
