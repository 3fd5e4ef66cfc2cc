/**
 * WebSocket in both app styles, on one server:
 *
 *     node --import tsx src/cli.ts serve examples/websocket-echo.ts:app --style cps --port 8080
 *     then open http://127.0.0.1:8080/
 *
 * /ws/cps    an echo written as a CPS WebSocketProtocol (acceptWebSocket)
 * /ws/iter   the same echo as an iterator app (environ['spindle.websocket'])
 * /chat/cps, /chat/iter   one chat room; members of either style talk together
 * /          a page whose script talks to all of them
 */
import {
  acceptWebSocket,
  toCpsApp,
  WebSocketProtocol,
  type Chunk,
  type CpsApp,
  type Environ,
  type StartResponse,
  type WebSocketMessage,
} from '../src/index.js'; // 'spindle'

export const style = 'cps';

class Echo extends WebSocketProtocol {
  override messageReceived(data: WebSocketMessage): void {
    this.sendMessage(data);
  }
}

/**
 * A plain GET (a browser opening the URL, curl) has no spindle.websocket: answer it,
 * or the app ends without startResponse and the gateway logs an error and sends 500.
 * (An iterator app cannot send 426, which needs the hop-by-hop Upgrade header.)
 */
function* notWebSocket(startResponse: StartResponse): Generator<Chunk> {
  startResponse('400 Bad Request', [['content-type', 'text/plain; charset=utf-8']]);
  yield 'this path speaks WebSocket only: connect with a WebSocket client (RFC 6455)\n';
}

/** The echo as an iterator app: yield what arrives; pause the output while nothing does. */
function* iterEcho(environ: Environ, startResponse: StartResponse): Generator<Chunk> {
  const ws = environ['spindle.websocket']; // present only on a request with Upgrade: websocket
  if (!ws) return yield* notWebSocket(startResponse);
  const input = ws.accept();
  if (!input) return; // a malformed handshake: accept() answered 400/426 itself
  let resume: (() => void) | null = null;
  environ['wsgi.input_handler']!(input, () => resume?.());
  for (;;) {
    const message = input.receive();
    if (message !== null) yield message;
    else if (input.closed) return;
    else {
      resume = environ['wsgi.pause_output']!();
      yield '';
    }
  }
}

// -- the chat: one room, members written in either style ---------------------
interface Member {
  send(text: string): void;
}
const room = new Set<Member>();
const broadcast = (text: string): void => room.forEach((m) => m.send(text));

class ChatMember extends WebSocketProtocol implements Member {
  override connectionMade(): void {
    room.add(this);
  }
  override messageReceived(data: WebSocketMessage): void {
    if (typeof data === 'string') broadcast(data);
  }
  override connectionLost(): void {
    room.delete(this);
  }
  send(text: string): void {
    this.sendMessage(text);
  }
}

/** A chat member as an iterator app: its outgoing queue is bounded; a member too slow to read is closed. */
function* iterChat(environ: Environ, startResponse: StartResponse): Generator<Chunk> {
  const ws = environ['spindle.websocket'];
  if (!ws) return yield* notWebSocket(startResponse);
  const input = ws.accept();
  if (!input) return;
  const queue: string[] = [];
  let resume: (() => void) | null = null;
  const wake = (): void => resume?.();
  const member: Member = {
    send: (text) => (queue.length < 100 ? (queue.push(text), wake()) : input.close(1008, 'too slow to read the chat')),
  };
  room.add(member);
  environ['wsgi.input_handler']!(input, wake);
  try {
    for (;;) {
      for (let m = input.receive(); m !== null; m = input.receive()) if (typeof m === 'string') broadcast(m);
      if (input.closed) return;
      if (queue.length > 0) yield queue.shift()!;
      else {
        resume = environ['wsgi.pause_output']!();
        yield '';
      }
    }
  } finally {
    room.delete(member);
  }
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>spindle WebSocket</title>
<h1>WebSocket echo, in both styles</h1>
<p>CPS: <output id="cps">…</output></p><p>iterator: <output id="iter">…</output></p><p>chat: <output id="chat">…</output></p>
<script>
const url = (path) => (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
const show = (id, text) => (document.getElementById(id).textContent = text);
const opened = (path) => new Promise((ok, fail) => { const ws = new WebSocket(url(path)); ws.onopen = () => ok(ws); ws.onerror = fail; });
const next = (ws) => new Promise((ok) => ws.addEventListener('message', (e) => ok(e.data), { once: true }));
async function echo(path, id) {
  const ws = await opened(path);
  ws.send('hello from the page to ' + id);
  show(id, await next(ws));
  ws.close(1000);
}
async function chat() {
  const a = await opened('/chat/cps'), b = await opened('/chat/iter');
  const heard = next(b);
  a.send('cps says hi to iter');
  show('chat', await heard);
  a.close(); b.close();
}
Promise.all([echo('/ws/cps', 'cps'), echo('/ws/iter', 'iter'), chat()]).then(() => (document.body.dataset.done = 'yes'), (e) => show('chat', 'failed: ' + e));
</script>`;

const iterEchoCps = toCpsApp(iterEcho);
const iterChatCps = toCpsApp(iterChat);

export const app: CpsApp = (request) => {
  switch (request.path) {
    case '/ws/cps':
      return void acceptWebSocket(request, new Echo());
    case '/ws/iter':
      return iterEchoCps(request);
    case '/chat/cps':
      return void acceptWebSocket(request, new ChatMember());
    case '/chat/iter':
      return iterChatCps(request);
    case '/':
      request.setHeader('Content-Type', 'text/html; charset=utf-8');
      request.write(PAGE);
      return request.finish();
    default:
      request.setResponseCode(404);
      request.write('not found\n');
      return request.finish();
  }
};
