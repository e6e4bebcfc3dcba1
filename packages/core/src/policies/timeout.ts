import { type Clock, systemClock } from '../clock.js';
import { IntegrationError } from '../errors.js';
import { type Attempt, Engine, standalone } from './engine.js';
import { timeoutSetting } from './options.js';
import type { AttemptScope, Policy, PolicyEnvironment, PolicyExecuteOptions } from './types.js';

/**
 * Per-attempt timeouts without a timer per call. In-flight attempts sit in a list ordered by deadline; one
 * unref'd timer is armed for the head. Attempts sharing the policy's timeout are appended in deadline order,
 * so tracking one is O(1); a per-call override is inserted from the tail. A finished attempt just leaves the
 * list: the timer is not touched, and when it fires it re-arms for the new head or, with nothing in flight,
 * lapses for good, so an idle policy holds no timer once its last deadline has passed.
 */
export class Deadlines {
  /** The default per-attempt timeout; Infinity: none unless a call asks for one. */
  readonly timeoutMs: number;
  private readonly clock: Clock;
  protected head: Attempt | null = null;
  private tail: Attempt | null = null;
  protected timer: unknown = undefined;
  private timerAt = Infinity;
  private readonly onTimer = () => this.expire();

  constructor(timeoutMs: number, clock: Clock = systemClock) {
    this.timeoutMs = timeoutMs;
    this.clock = clock;
  }

  track(attempt: Attempt, now: number, ms: number): void {
    const deadline = now + ms;
    attempt.deadline = deadline;
    attempt.timeoutMs = ms;
    attempt.tracked = true;
    let after = this.tail;
    while (after !== null && after.deadline > deadline) after = after.tPrev;
    const next = after === null ? this.head : after.tNext;
    attempt.tPrev = after;
    attempt.tNext = next;
    if (after === null) this.head = attempt;
    else after.tNext = attempt;
    if (next === null) this.tail = attempt;
    else next.tPrev = attempt;
    if (deadline < this.timerAt) this.arm(deadline, now);
  }

  untrack(attempt: Attempt): void {
    if (!attempt.tracked) return;
    attempt.tracked = false;
    const { tPrev, tNext } = attempt;
    if (tPrev === null) this.head = tNext;
    else tPrev.tNext = tNext;
    if (tNext === null) this.tail = tPrev;
    else tNext.tPrev = tPrev;
    attempt.tPrev = attempt.tNext = null;
  }

  private arm(at: number, now: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    // Timers may fire a little early against a sub-ms clock; expire() re-arms for what is left.
    this.timer = this.clock.setTimeout(this.onTimer, Math.max(1, Math.ceil(at - now)));
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let attempt = this.head;
    while (attempt !== null && attempt.deadline <= now) {
      this.untrack(attempt);
      attempt.end(
        new IntegrationError('timeout', `attempt ${attempt.attempt} timed out after ${attempt.timeoutMs} ms`),
      );
      attempt = this.head;
    }
    if (attempt !== null) this.arm(attempt.deadline, now);
  }
}

/** A per-attempt timeout used on its own: the operation's signal aborts and the call rejects with kind `timeout`. */
export class TimeoutPolicy extends Deadlines implements Policy {
  private readonly environment: PolicyEnvironment;
  private engine: Engine | undefined;

  constructor(timeoutMs: number, environment: PolicyEnvironment = {}) {
    super(timeoutSetting(timeoutMs), environment.clock);
    this.environment = environment;
  }

  /** Attempts in flight (for tests and status). */
  get inFlight(): number {
    let count = 0;
    for (let a = this.head; a !== null; a = a.tNext) count++;
    return count;
  }

  /** True while a timer is armed. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  execute<T>(fn: (scope: AttemptScope) => Promise<T>, options?: PolicyExecuteOptions): Promise<T> {
    return standalone((this.engine ??= new Engine(this.environment, { timeout: this }, true)), fn, options);
  }
}

export function createTimeout(timeoutMs: number, environment?: PolicyEnvironment): TimeoutPolicy {
  return new TimeoutPolicy(timeoutMs, environment);
}
