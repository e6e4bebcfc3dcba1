import { IntegrationError } from '../errors.js';
import { Engine, standalone } from './engine.js';
import { cancelledError, type Env, emit, environmentOf, type SignalHub, type SignalWaiter } from './internal.js';
import { settings } from './options.js';
import type { AttemptScope, BulkheadOptions, Policy, PolicyEnvironment, PolicyExecuteOptions } from './types.js';

/** A call waiting for a slot; leaves the queue when its call's signal aborts. */
class QueuedCall implements SignalWaiter {
  sPrev: SignalWaiter | null = null;
  sNext: SignalWaiter | null = null;
  hub: SignalHub | null = null;
  prev: QueuedCall | null = null;
  next: QueuedCall | null = null;
  private readonly bulkhead: Bulkhead;
  readonly resolve: () => void;
  private readonly reject: (error: unknown) => void;

  constructor(bulkhead: Bulkhead, resolve: () => void, reject: (error: unknown) => void) {
    this.bulkhead = bulkhead;
    this.resolve = resolve;
    this.reject = reject;
  }

  onCallerAbort(error: IntegrationError): void {
    this.bulkhead.dequeue(this);
    this.reject(error);
  }
}

/** At most `maxConcurrent` calls at once, `maxQueue` more waiting; beyond that, kind `bulkhead_full`. */
export class Bulkhead {
  declare readonly maxConcurrent: number;
  declare readonly maxQueue: number;
  private readonly env: Env;
  protected activeCount = 0;
  protected queuedCount = 0;
  private head: QueuedCall | null = null;
  private tail: QueuedCall | null = null;

  constructor(options: BulkheadOptions, environment?: PolicyEnvironment) {
    Object.assign(this, settings('bulkhead', options));
    this.env = environmentOf(environment);
  }

  /** Takes a slot if one is free, synchronously. */
  tryAcquire(): boolean {
    if (this.activeCount >= this.maxConcurrent) return false;
    this.activeCount++;
    return true;
  }

  /** Waits in the queue for a slot, or throws `bulkhead_full`. Call after tryAcquire() said no. */
  enqueue(operation: string, signals: SignalHub | undefined): Promise<void> {
    const active = this.activeCount;
    const queued = this.queuedCount;
    if (queued >= this.maxQueue) {
      emit(this.env, 'bulkhead:rejected', { operation, active, queued });
      throw new IntegrationError('bulkhead_full', `bulkhead is full: ${active} calls running, ${queued} queued`, {
        retryable: false,
      });
    }
    if (signals?.aborted) throw cancelledError(signals);
    return new Promise<void>((resolve, reject) => {
      const call = new QueuedCall(this, resolve, reject);
      const tail = this.tail;
      if (tail === null) this.head = call;
      else {
        tail.next = call;
        call.prev = tail;
      }
      this.tail = call;
      this.queuedCount++;
      signals?.add(call);
    });
  }

  /** Gives the slot to the longest-waiting call, or frees it. */
  release(): void {
    const next = this.head;
    if (next === null) {
      this.activeCount--;
      return;
    }
    this.dequeue(next);
    next.hub?.remove(next);
    next.resolve();
  }

  dequeue(call: QueuedCall): void {
    const { prev, next } = call;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    call.prev = call.next = null;
    this.queuedCount--;
  }
}

/** A bulkhead used on its own. */
export class BulkheadPolicy extends Bulkhead implements Policy {
  private readonly environment: PolicyEnvironment;
  private engine: Engine | undefined;

  constructor(options: BulkheadOptions, environment: PolicyEnvironment = {}) {
    super(options, environment);
    this.environment = environment;
  }

  get active(): number {
    return this.activeCount;
  }

  get queued(): number {
    return this.queuedCount;
  }

  execute<T>(fn: (scope: AttemptScope) => Promise<T>, options?: PolicyExecuteOptions): Promise<T> {
    return standalone((this.engine ??= new Engine(this.environment, { bulkhead: this }, true)), fn, options);
  }
}

export function createBulkhead(options: BulkheadOptions, environment?: PolicyEnvironment): BulkheadPolicy {
  return new BulkheadPolicy(options, environment);
}
