/** A periodic tick for a service: `start()` runs `tick` every `ms` (not keeping the process alive), `stop()` ends it. */
export class Ticker {
  private timer: NodeJS.Timeout | null = null;

  /** `onStart` runs when ticking begins (not on a second start while running). */
  constructor(private readonly tick: () => Promise<unknown>, private readonly ms: number, private readonly onStart: () => void = () => undefined) {}

  /** Starts ticking; a second call while running does nothing. */
  start(): void {
    if (this.timer) return;
    this.onStart();
    this.timer = setInterval(() => void this.tick(), this.ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
