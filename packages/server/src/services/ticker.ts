/**
 * A periodic tick for a service: `start()` runs `tick` every `ms` (not keeping the process alive;
 * skipped while the previous one still runs), `stop()` ends it.
 */
export class Ticker {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  /** `onStart` runs when ticking begins (not on a second start while running). */
  constructor(private readonly tick: () => Promise<unknown>, private readonly ms: number, private readonly onStart: () => void = () => undefined) {}

  /** Starts ticking; a second call while running does nothing. */
  start(): void {
    if (this.timer) return;
    this.onStart();
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.tick().finally(() => (this.busy = false));
    }, this.ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/**
 * One tick of a service at a time. A tick asked for while another runs waits for it and then runs,
 * so its caller (a test that moved an injected clock, the periodic tick) gets a tick that started
 * after the call and saw what the running one wrote. Skipping instead answered "nothing fired"
 * whenever the periodic tick happened to be running — on PostgreSQL, where every query is a round
 * trip, often.
 */
export class OneAtATime {
  private running: Promise<unknown> | null = null;

  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running) await this.running.catch(() => undefined);
    const p = fn();
    this.running = p;
    try {
      return await p;
    } finally {
      if (this.running === p) this.running = null;
    }
  }
}
