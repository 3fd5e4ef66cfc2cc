/**
 * `spindle/reactor`: Deferreds, the reactor and its time, TCP transports,
 * producers and consumers, worker threads, logging and the test doubles.
 * The default export is the lazily created shared reactor, for apps, examples
 * and the CLI only; library code takes a reactor as a parameter.
 */
export { Deferred, succeed, fail, maybeDeferred } from './deferred.js';
export { Failure } from './failure.js';
export { DeferredList, gatherResults } from './deferredlist.js';
export {
  DeferredLock,
  DeferredSemaphore,
  DeferredQueue,
  DEFERRED_QUEUE_DEFAULT_SIZE,
  DEFERRED_QUEUE_DEFAULT_BACKLOG,
} from './sync.js';
export { inlineCallbacks, ensureDeferred } from './generators.js';

export {
  SpindleError,
  AlreadyCalledError,
  CancelledError,
  TimeoutError,
  FirstError,
  QueueOverflow,
  AlreadyCancelled,
  AlreadyCalled,
  ConnectionDone,
  ConnectionLost,
  ResponseDone,
  InvalidArgumentError,
  CannotListenError,
  ConnectError,
  ConnectionRefusedError,
  ConnectTimeoutError,
  ConnectorStateError,
  TLSHandshakeError,
  TLSStateError,
  ProducerAlreadyRegisteredError,
  ProducerStoppedError,
  RingAborted,
  RingClosed,
  ThreadPoolStopped,
  WorkerCrashed,
  NotAcquiredError,
  ReactorAlreadyRunning,
  ReactorNotRunning,
  LoopingCallStateError,
  NoClockError,
  TaskFinished,
  TaskDone,
  TaskStopped,
  TaskFailed,
  SchedulerStopped,
  NotPaused,
} from './errors.js';

export { NodeReactor, TURN_TIME_MAX_USES, TURN_TIME_BURST_GAP } from './nodereactor.js';
export { SHUTDOWN_TRIGGER_TIMEOUT } from './reactorcore.js';
export { Clock } from './clock.js';
export { MemoryReactor } from './memoryreactor.js';
export { LoopingCall, deferLater } from './task.js';
export { Cooperator, cooperate, COOPERATOR_SLICE } from './cooperator.js';
export { getReactor } from './shared.js';

export {
  Logger,
  LogPublisher,
  globalLogPublisher,
  textObserver,
  jsonObserver,
  formatEvent,
  captureLogs,
} from './log.js';

// One way to listen and connect over TCP: the reactor's own methods
// (`reactor.listenTCP`, `reactor.connectTCP`), as docs/protocols.md shows.
export { TRANSPORT_HIGH_WATER, CONNECT_TIMEOUT } from './tcp.js';
export { listenTLS, connectTLS, TLS_HANDSHAKE_TIMEOUT } from './tls/index.js';
export { listenUNIX, connectUNIX } from './unix/index.js';
export { StringTransport } from './stringtransport.js';
export { loopback, LOOPBACK_BUFFER_LIMIT } from './loopback.js';

export {
  ThreadPool,
  deferToThread,
  getDefaultThreadPool,
  THREAD_POOL_SIZE,
  THREAD_POOL_MAX_QUEUE,
  THREAD_POOL_STOP_TIMEOUT,
} from './threadpool.js';
export { ByteRing } from './ring.js';

export type {
  IDelayedCall,
  IReactorTime,
  IReactorCore,
  IReactorTCP,
  IReactor,
  ReactorStats,
  TriggerPhase,
  SystemEvent,
  ITriggerId,
  RunOptions,
  IPushProducer,
  IPullProducer,
  IProducer,
  IConsumer,
  IAddress,
  ITransport,
  IProtocol,
  IProtocolFactory,
  IConnector,
  IClientFactory,
  IListeningPort,
  ListenOptions,
  ConnectOptions,
  IReactorTLS,
  IReactorUNIX,
  ITLSTransport,
  TLSMaterial,
  SNICallback,
  TLSServerOptions,
  TLSClientOptions,
  TLSListenOptions,
  TLSConnectOptions,
  UNIXListenOptions,
} from './interfaces.js';
export type { TLSListeningPort, HandshakeStats } from './tls/index.js';
export type { Canceller } from './deferred.js';
export type { DeferredListOptions, DeferredListEntry } from './deferredlist.js';
export type { LogLevel, LogEvent, LogObserver } from './log.js';
export type { LoopingCallOptions } from './task.js';
export type { CooperativeTask, CooperatorOptions } from './cooperator.js';
export type { StringTransportOptions, ProducerState } from './stringtransport.js';
export type { LoopbackOptions, LoopbackPump } from './loopback.js';
export type { ThreadPoolOptions, ThreadJob, PoolReactor } from './threadpool.js';

// Every error class of the layer, also as one namespace: `import { errors } from 'spindle/reactor'`.
import * as errors from './errors.js';
export { errors };

export { reactor as default } from './shared.js';
