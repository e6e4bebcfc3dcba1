/**
 * Time as policies see it. Everything measures durations on a monotonic clock (wall-clock jumps must not
 * open breakers or refill buckets), and every timer is unref'd so an idle process can exit.
 * Tests pass a manual clock instead.
 */
export interface Clock {
  /** Monotonic milliseconds (performance.now() in production). */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
