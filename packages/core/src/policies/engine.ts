import { IntegrationError } from '../errors.js';
import type { BreakerState } from '../events.js';
import type { Bulkhead } from './bulkhead.js';
import type { Breaker } from './circuit-breaker.js';
import type { FallbackHandler } from './fallback.js';
import {
  cancelledError,
  type Env,
  emit,
  environmentOf,
  hubFor,
  IdleHubSlot,
  locate,
  noop,
  type SignalHub,
  type SignalWaiter,
  sleep,
  toIntegrationError,
} from './internal.js';
import type { Limiter } from './rate-limiter.js';
import type { Retry } from './retry.js';
import { Deadlines } from './timeout.js';
import type { AttemptScope, Pipeline, PolicyEnvironment, PolicyExecuteOptions } from './types.js';

/** The policies one engine runs. Any may be missing. */
export interface PolicySet {
  retry?: Retry | undefined;
  breaker?: Breaker | undefined;
  limiter?: Limiter | undefined;
  /** Its timeoutMs is the default per-attempt timeout. Without it, calls time out only when they ask to. */
  timeout?: Deadlines | undefined;
  bulkhead?: Bulkhead | undefined;
  fallback?: FallbackHandler | undefined;
}

type Operation = (scope: AttemptScope) => Promise<unknown>;

// The executor of every call's promise: a static function, so creating the promise allocates no closure.
let capturedResolve: (value: unknown) => void = noop;
let capturedReject: (error: unknown) => void = noop;
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

const NO_OPTIONS: PolicyExecuteOptions = {};

/**
 * One attempt of one call, and the call's state with it (copied to the next attempt on a retry). It is the scope
 * the operation receives, a node in the deadline list and in its signals' waiter list.
 * The AbortController behind `signal` is created only if the operation reads it or the attempt is ended early.
 */
export class Attempt implements AttemptScope, SignalWaiter {
  readonly attempt: number;
  private controller: AbortController | undefined = undefined;
  /** Why the attempt was ended from outside (timeout, abort), once it was. */
  ended: IntegrationError | undefined = undefined;
  /** The operation's promise has settled (or the attempt never reached the operation). */
  settled = false;

  // The deadline list.
  deadline = 0;
  timeoutMs = 0;
  tPrev: Attempt | null = null;
  tNext: Attempt | null = null;
  tracked = false;

  // The waiter list of the call's signals.
  sPrev: SignalWaiter | null = null;
  sNext: SignalWaiter | null = null;
  hub: SignalHub | null = null;

  // The call.
  readonly engine: Engine;
  readonly operation: string;
  readonly fn: Operation;
  readonly options: PolicyExecuteOptions;
  /** The caller's signal and the owner's, as one hub; undefined without either. */
  readonly signals: SignalHub | undefined;
  /** Settle the call's promise. Set when the call first needs a promise of its own (see Engine.execute). */
  resolve: (value: unknown) => void = noop;
  reject: (error: unknown) => void = noop;
  /** Monotonic time by which the whole call must end (totalTimeoutMs), or Infinity. */
  readonly callDeadline: number;
  /** The call holds a bulkhead slot. */
  holding = false;
  /** The attempt is a half-open probe of the breaker. */
  probe = false;
  started = 0;

  constructor(
    engine: Engine,
    attempt: number,
    operation: string,
    fn: Operation,
    options: PolicyExecuteOptions,
    signals: SignalHub | undefined,
    callDeadline: number,
  ) {
    this.engine = engine;
    this.attempt = attempt;
    this.operation = operation;
    this.fn = fn;
    this.options = options;
    this.signals = signals;
    this.callDeadline = callDeadline;
  }

  get signal(): AbortSignal {
    let controller = this.controller;
    if (controller === undefined) {
      controller = this.controller = new AbortController();
      const signals = this.signals;
      if (this.ended !== undefined) controller.abort(this.ended);
      else if (signals?.aborted) controller.abort(cancelledError(signals));
    }
    return controller.signal;
  }

  /** The next attempt of the same call. The bulkhead slot moves to it. */
  next(): Attempt {
    const { engine, operation, fn, options, signals, callDeadline } = this;
    const next = new Attempt(engine, this.attempt + 1, operation, fn, options, signals, callDeadline);
    next.resolve = this.resolve;
    next.reject = this.reject;
    next.holding = this.holding;
    this.holding = false;
    return next;
  }

  /** Ends the attempt from outside: its signal aborts and the call moves on without waiting for the operation. */
  end(error: IntegrationError): void {
    if (this.settled || this.ended !== undefined) return;
    this.ended = error;
    this.engine.detach(this);
    this.controller?.abort(error);
    this.engine.failed(this, error, true);
  }

  onCallerAbort(error: IntegrationError): void {
    this.end(error);
  }
}

/**
 * Runs a call through fallback(bulkhead(retry(breaker(rateLimit(timeout(fn)))))) as one state machine rather
 * than nested wrappers. A call without faults allocates its own promise, one Attempt (its scope) and the
 * promise of the function that awaits the operation; no timer, no closure, no listener. Each attempt takes a
 * token and is seen by the breaker. An attempt that times out or is cancelled is left behind: the call goes on
 * (retry, fallback, rejection) at once, and whatever the operation does later is ignored.
 */
export class Engine implements Pipeline, Env {
  readonly clock: Env['clock'];
  readonly events: Env['events'];
  readonly source: Env['source'];
  private readonly retry: Retry | undefined;
  private readonly breaker: Breaker | undefined;
  private readonly limiter: Limiter | undefined;
  private readonly timeout: Deadlines;
  private readonly bulkhead: Bulkhead | undefined;
  private readonly fallback: FallbackHandler | undefined;
  private readonly readsClock: boolean;
  private readonly retrySafeByDefault: boolean;
  private readonly idleHub = new IdleHubSlot();
  private lastHeadroom: number | undefined = undefined;

  constructor(environment: PolicyEnvironment, policies: PolicySet, retrySafeByDefault: boolean) {
    const { clock, events, source } = environmentOf(environment);
    this.clock = clock;
    this.events = events;
    this.source = source;
    this.retry = policies.retry;
    this.breaker = policies.breaker;
    this.limiter = policies.limiter;
    this.timeout = policies.timeout ?? new Deadlines(Infinity, clock);
    this.bulkhead = policies.bulkhead;
    this.fallback = policies.fallback;
    this.readsClock = !!(this.breaker || this.limiter || events || this.timeout.timeoutMs < Infinity);
    this.retrySafeByDefault = retrySafeByDefault;
  }

  execute<T>(operation: string, fn: (scope: AttemptScope) => Promise<T>, options = NO_OPTIONS): Promise<T> {
    const total = options.totalTimeoutMs;
    const signals = hubFor(options.signal, options.closeSignal);
    const deadline = total === undefined ? Infinity : this.clock.now() + total;
    const attempt = new Attempt(this, 1, operation, fn, options, signals, deadline);
    if (signals === undefined && deadline === Infinity && (options.timeoutMs ?? this.timeout.timeoutMs) === Infinity) {
      // Nothing can end this attempt from outside, so one async function can simply await it.
      return this.direct(attempt) as Promise<T>;
    }
    const promise = this.handOver(attempt) as Promise<T>;
    const bulkhead = this.bulkhead;
    if (signals?.aborted) this.settle(attempt, cancelledError(signals));
    else if (bulkhead?.tryAcquire() === false) this.queue(attempt);
    else {
      attempt.holding = bulkhead !== undefined;
      this.start(attempt);
    }
    return promise;
  }

  /** Current breaker state, or undefined without a breaker. */
  breakerState(): BreakerState | undefined {
    return this.breaker?.state;
  }

  /** Tokens available now, or undefined without a rate limiter. A remote store's answer arrives later. */
  rateLimitHeadroom(): number | undefined {
    const headroom = this.limiter?.headroom();
    if (typeof headroom !== 'object') return headroom;
    headroom.then((value) => {
      this.lastHeadroom = value;
    }, noop);
    return this.lastHeadroom;
  }

  /** Gives the call a promise of its own, settled through attempt.resolve / attempt.reject. */
  private handOver(attempt: Attempt): Promise<unknown> {
    const promise = new Promise(capture);
    attempt.resolve = capturedResolve;
    attempt.reject = capturedReject;
    return promise;
  }

  /** Waits in the bulkhead's queue; the call starts when a slot frees up. */
  private queue(attempt: Attempt): void {
    try {
      this.bulkhead!.enqueue(attempt.operation, attempt.signals).then(
        () => {
          attempt.holding = true;
          this.start(attempt);
        },
        (error: unknown) => this.settle(attempt, error),
      );
    } catch (error) {
      this.settle(attempt, error);
    }
  }

  /**
   * The first attempt of a call that no timeout or signal can cut short, awaited in place. Anything off the
   * fast path (a full bulkhead, an open breaker, a token wait, a failure) hands the call over to the general
   * state machine.
   */
  private async direct(attempt: Attempt): Promise<unknown> {
    const bulkhead = this.bulkhead;
    if (bulkhead?.tryAcquire() === false) {
      const promise = this.handOver(attempt);
      this.queue(attempt);
      return promise;
    }
    attempt.holding = bulkhead !== undefined;
    let wait: number | Promise<number> = 0;
    let reached = false;
    let value: unknown;
    try {
      wait = this.admit(attempt);
      if (wait === 0) {
        reached = true;
        const fn = attempt.fn;
        value = await fn(attempt);
      }
    } catch (error) {
      attempt.settled = true;
      const promise = this.handOver(attempt);
      this.failed(attempt, error, reached);
      return promise;
    }
    if (wait !== 0) {
      const promise = this.handOver(attempt);
      this.waitForToken(attempt, wait);
      return promise;
    }
    attempt.settled = true;
    this.succeeded(attempt);
    return value;
  }

  /**
   * Stamps the attempt's start, asks the breaker (throws `circuit_open`) and takes a token. Returns 0 when the
   * attempt may run now, else the wait for a token.
   */
  private admit(attempt: Attempt): number | Promise<number> {
    const now =
      this.readsClock || attempt.options.timeoutMs !== undefined || attempt.callDeadline !== Infinity
        ? this.clock.now()
        : 0;
    attempt.started = now;
    const events = this.events;
    if (events?.has('call:start')) {
      events.emit('call:start', { ...this.source, operation: attempt.operation, attempt: attempt.attempt });
    }
    const breaker = this.breaker;
    if (breaker !== undefined) attempt.probe = breaker.acquire(now);
    return this.limiter?.take(now) ?? 0;
  }

  /** Begins an attempt: breaker, then a token, then the operation. */
  private start(attempt: Attempt): void {
    let wait: number | Promise<number>;
    try {
      wait = this.admit(attempt);
    } catch (error) {
      this.failed(attempt, error, false);
      return;
    }
    if (wait === 0) this.launch(attempt, attempt.started);
    else this.waitForToken(attempt, wait);
  }

  /** Calls the operation, with the attempt's deadline tracked and its signals watched. */
  private launch(attempt: Attempt, now: number): void {
    const left = attempt.callDeadline - now;
    const ms = Math.min(attempt.options.timeoutMs ?? this.timeout.timeoutMs, left);
    const signals = attempt.signals;
    if (left <= 0) {
      const total = attempt.options.totalTimeoutMs;
      this.failed(attempt, new IntegrationError('timeout', `the call's total timeout of ${total} ms passed`), false);
    } else if (signals?.aborted) {
      this.failed(attempt, cancelledError(signals), false);
    } else {
      signals?.add(attempt);
      if (ms !== Infinity) this.timeout.track(attempt, now, ms);
      this.pump(attempt);
    }
  }

  /** Awaits the operation and reports the outcome, unless the attempt was ended from outside first. */
  private async pump(attempt: Attempt): Promise<void> {
    let value: unknown;
    try {
      const fn = attempt.fn;
      value = await fn(attempt);
    } catch (error) {
      if (attempt.ended !== undefined) return;
      attempt.settled = true;
      this.detach(attempt);
      this.failed(attempt, error, true);
      return;
    }
    if (attempt.ended !== undefined) return;
    attempt.settled = true;
    this.detach(attempt);
    this.succeeded(attempt);
    attempt.resolve(value);
  }

  /** The operation answered: the breaker and listeners hear of it and the bulkhead slot is freed. */
  private succeeded(attempt: Attempt): void {
    this.breaker?.onSuccess(attempt.probe, attempt.started);
    const events = this.events;
    if (events?.has('call:success')) {
      events.emit('call:success', {
        ...this.source,
        operation: attempt.operation,
        attempt: attempt.attempt,
        durationMs: this.clock.now() - attempt.started,
      });
    }
    this.free(attempt);
  }

  private free(attempt: Attempt): void {
    if (attempt.holding) {
      attempt.holding = false;
      this.bulkhead!.release();
    }
  }

  /** Takes the attempt off the deadline list and its signals' waiter list. */
  detach(attempt: Attempt): void {
    if (attempt.tracked) this.timeout.untrack(attempt);
    if (attempt.hub !== null) this.idleHub.leave(attempt);
  }

  /**
   * An attempt failed (`reached`: the operation ran; otherwise the breaker, limiter or deadline stopped it).
   * Tells the breaker, then retries or settles the call.
   */
  failed(attempt: Attempt, thrown: unknown, reached: boolean): void {
    const error = locate(toIntegrationError(thrown, attempt.options.mapError), attempt.operation, this.source);
    const { breaker, retry, clock } = this;
    if (reached) breaker?.onFailure(error, attempt.probe, attempt.started);
    else breaker?.release(attempt.probe);
    let delayMs = -1;
    if (
      retry !== undefined &&
      error.retryable &&
      attempt.attempt < retry.maxAttempts &&
      (attempt.options.retrySafe ?? this.retrySafeByDefault) &&
      !attempt.signals?.aborted
    ) {
      const delay = retry.delayFor(attempt.attempt, error);
      // A wait that would outlast the caller's budget is not started: fail now with what we have.
      if (clock.now() + delay < attempt.callDeadline) delayMs = delay;
    }
    const { operation, started } = attempt;
    emit(this, 'call:failure', {
      operation,
      attempt: attempt.attempt,
      durationMs: clock.now() - started,
      error,
      willRetry: delayMs >= 0,
    });
    if (delayMs < 0) {
      this.settle(attempt, error);
      return;
    }
    const next = attempt.next();
    emit(this, 'retry:scheduled', { operation, attempt: next.attempt, delayMs, error });
    if (delayMs === 0) this.start(next);
    else {
      sleep(clock, delayMs, next.signals).then(
        () => this.start(next),
        (cancelled: unknown) => this.settle(next, cancelled),
      );
    }
  }

  /** Ends the call with `thrown`, or with the fallback's value. */
  private settle(attempt: Attempt, thrown: unknown): void {
    const error = locate(toIntegrationError(thrown, attempt.options.mapError), attempt.operation, this.source);
    this.free(attempt);
    const fallback = this.fallback;
    if (fallback === undefined || error.kind === 'cancelled') {
      attempt.reject(error);
      return;
    }
    try {
      attempt.resolve(fallback(error, attempt.operation));
    } catch (fallbackError) {
      attempt.reject(fallbackError);
    }
  }

  /** Waits for a token up to min(maxWaitMs, the call's deadline), or fails the attempt with `rate_limited`. */
  private async waitForToken(attempt: Attempt, first: number | Promise<number>): Promise<void> {
    const { clock } = this;
    const limiter = this.limiter!;
    try {
      let wait = await first;
      const startedAt = clock.now();
      while (wait !== 0) {
        const now = clock.now();
        const rejected = wait > Math.min(limiter.maxWaitMs - (now - startedAt), attempt.callDeadline - now);
        emit(this, 'rate:limited', { operation: attempt.operation, waitMs: wait, rejected });
        const ms = Math.ceil(wait);
        if (rejected) {
          throw new IntegrationError('rate_limited', `rate limit reached: next token in ${ms} ms`, {
            retryable: false,
            retryAfterMs: ms,
          });
        }
        await sleep(clock, ms, attempt.signals);
        wait = await limiter.take(clock.now());
      }
    } catch (error) {
      this.failed(attempt, error, false);
      return;
    }
    this.launch(attempt, clock.now());
  }
}

/** Runs `fn` through a standalone policy's engine. */
export function standalone<T>(
  engine: Engine,
  fn: (scope: AttemptScope) => Promise<T>,
  options: PolicyExecuteOptions | undefined,
): Promise<T> {
  return engine.execute(options?.operation ?? 'call', fn, options);
}
