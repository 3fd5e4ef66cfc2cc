/**
 * threadedIterApp's requests in flight, by id, without a hash table. An id
 * is its cancel slot (the low 16 bits) and how many times that slot was
 * used (the bits above), so looking one up is an array read and a compare,
 * and a stale record of an earlier request on the same slot does not match.
 *
 * Why not a Map: the reactor thread adds and removes one entry per request,
 * so the Map's table is rebuilt as the number in flight swings. A table
 * that lived long enough to reach the old generation and was then replaced
 * still pointed at the requests of that moment, and the young-generation GC
 * treats such pointers from old objects as live: those requests (their
 * environs, headers, gateway state) were copied to the old generation, and
 * the references they held kept the next ones alive in turn. A threaded hello
 * promoted about 5 KiB per request to the old generation (the in-process
 * gateway under 0.1 KiB), paid for in scavenges and a full GC every second
 * (BENCHMARKS.md, Threads, fourth session).
 */
import type { ThreadedJob } from './threadeddispatch.js';

/** Most jobs a table holds (the slot is 16 bits of the id). */
export const JOB_SLOTS_MAX = 65536;

export class JobTable {
  private readonly jobs: (ThreadedJob | null)[];
  private readonly ids: Int32Array;
  private readonly free: number[] = [];
  size = 0;

  constructor(readonly capacity: number) {
    this.jobs = new Array<ThreadedJob | null>(capacity).fill(null);
    this.ids = new Int32Array(capacity);
    for (let i = capacity - 1; i >= 0; i--) this.free.push(i);
  }

  /** A free slot (the caller checks `size < capacity`); add() or release() it. */
  reserve(): number {
    return this.free.pop()!;
  }

  /** The id the job put in reserved `slot` will have (never 0): the slot's next use. */
  peekId(slot: number): number {
    return ((((this.ids[slot]! >>> 16) % 0x7fff) + 1) << 16) | slot;
  }

  /** Put `job` in a reserved slot under `id`, which must be `peekId(slot)` (the caller has it already); the id. */
  add(slot: number, id: number, job: ThreadedJob): number {
    this.ids[slot] = id;
    this.jobs[slot] = job;
    this.size++;
    return id;
  }

  /** Give back a reserved slot that add() was not called for. */
  release(slot: number): void {
    this.free.push(slot);
  }

  get(id: number): ThreadedJob | undefined {
    const slot = id & 0xffff;
    return slot < this.capacity && this.ids[slot] === id ? (this.jobs[slot] ?? undefined) : undefined;
  }

  /** Remove the job of `id` (its slot is free again); false if none. */
  delete(id: number): boolean {
    const slot = id & 0xffff;
    if (slot >= this.capacity || this.ids[slot] !== id || this.jobs[slot] === null) return false;
    this.jobs[slot] = null;
    this.size--;
    this.free.push(slot);
    return true;
  }

  /** Every job in flight with its id (a copy: callers remove while they walk it). */
  entries(): [number, ThreadedJob][] {
    const out: [number, ThreadedJob][] = [];
    for (let slot = 0; slot < this.capacity; slot++) {
      const job = this.jobs[slot];
      if (job) out.push([this.ids[slot]!, job]);
    }
    return out;
  }
}
