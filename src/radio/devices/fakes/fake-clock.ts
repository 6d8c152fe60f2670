/**
 * Clocks for the FAKE USB devices' streaming model (hackrf-fake.ts `stream` option).
 *
 *  - `RealClock`: wall time (`performance.now()`). Timers are kept in one queue and fire in (time,
 *    registration) order from a single `setTimeout` for the earliest (so never out of order, however late
 *    the host is; `setTimeout` has 1 ms granularity, so they fire up to ~1 ms late). A 30 s stream takes 30 s.
 *  - `VirtualClock`: time that jumps over idle waits. Every timer is kept in one queue; whenever the event
 *    loop has nothing else to run (a `setImmediate` turn: microtasks and ready I/O done), the earliest timer
 *    fires and the clock jumps to its time if it is not there yet. Timers fire one per turn, in
 *    (time, registration) order, so completions never overtake each other.
 *    With `hostTime: true` (the default) the clock also advances with real elapsed time: what the host does
 *    between two device events (the driver's conversion, the consumer's checks) costs its real duration, so a
 *    host too slow for the sample rate still overruns the device; only the waiting is skipped. A 30 s
 *    stream at 20 Msps then takes as long as the host's work on it. With `hostTime: false` the host is
 *    infinitely fast and runs are deterministic (tests).
 *    "Nothing else to run" is judged by two `setImmediate` turns in a row (`idleTurns`), so host code that
 *    itself waits one turn (the HackRF driver does, for a late USB refusal) is not overtaken. Real timers
 *    (`setTimeout`) elsewhere in the process do not hold the virtual clock back.
 */

export interface FakeClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves once `now() >= tMs`; timers with the same time resolve in the order they were set. */
  at(tMs: number): Promise<void>;
}

interface Timer {
  t: number;
  seq: number;
  resolve: () => void;
}

/** Timers in (time, registration) order. */
class TimerQueue {
  private readonly heap: Timer[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  peek(): Timer | undefined {
    return this.heap[0];
  }

  add(t: number, resolve: () => void): void {
    const h = this.heap;
    h.push({ t, seq: this.seq++, resolve });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): Timer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

export class RealClock implements FakeClock {
  private readonly timers = new TimerQueue();
  private handle: ReturnType<typeof setTimeout> | undefined;
  private handleAt = Infinity;

  now(): number {
    return performance.now();
  }

  at(tMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.add(tMs, resolve);
      this.arm();
    });
  }

  /** One setTimeout, for the earliest timer; a turn of the event loop at least, like a USB completion. */
  private arm(): void {
    const next = this.timers.peek();
    if (!next || next.t >= this.handleAt) return;
    if (this.handle) clearTimeout(this.handle);
    this.handleAt = next.t;
    this.handle = setTimeout(this.fire, Math.max(0, next.t - performance.now()));
  }

  private readonly fire = (): void => {
    this.handle = undefined;
    this.handleAt = Infinity;
    const now = performance.now();
    // Everything due, in order: their continuations run in this order too.
    while (this.timers.size > 0 && this.timers.peek()!.t <= now) this.timers.pop()!.resolve();
    this.arm();
  };
}

export class VirtualClock implements FakeClock {
  /** Milliseconds skipped over idle waits so far. */
  skippedMs = 0;
  /** Timers that fired later than their time (the host was busy past them). */
  lateTimers = 0;
  private readonly hostTime: boolean;
  private readonly realStart = performance.now();
  private virtualMs = 0;
  private readonly timers = new TimerQueue();
  private pumping = false;
  private readonly idleTurns: number;
  private turns = 0;

  constructor(options: { hostTime?: boolean; idleTurns?: number } = {}) {
    this.hostTime = options.hostTime ?? true;
    this.idleTurns = Math.max(1, options.idleTurns ?? 2);
  }

  now(): number {
    return this.hostTime ? performance.now() - this.realStart + this.skippedMs : this.virtualMs;
  }

  at(tMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.add(tMs, resolve);
      if (!this.pumping) {
        this.pumping = true;
        setImmediate(this.pump);
      }
    });
  }

  private readonly pump = (): void => {
    if (++this.turns < this.idleTurns) {
      setImmediate(this.pump);
      return;
    }
    this.turns = 0;
    const timer = this.timers.pop();
    if (!timer) {
      this.pumping = false;
      return;
    }
    const now = this.now();
    if (timer.t > now) {
      if (this.hostTime) this.skippedMs += timer.t - now;
      else this.virtualMs = timer.t;
    } else if (timer.t < now - 1) {
      this.lateTimers++;
    }
    timer.resolve();
    if (this.timers.size > 0) setImmediate(this.pump);
    else this.pumping = false;
  };
}
