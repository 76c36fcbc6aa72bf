/**
 * CPU use and peak resident memory of this process over one benchmark run.
 */

export interface ResourceUsage {
  wallSeconds: number;
  /** CPU time (user + system) over wall time; 1.0 = one core fully busy. */
  cpuCores: number;
  /** `cpuCores` as a percentage of all cores of the machine. */
  cpuPercentOfMachine: number;
  /** Highest RSS sampled during the run, MiB. */
  peakRssMiB: number;
  /** Highest RSS of the whole process lifetime so far (getrusage maxrss), MiB. */
  processPeakRssMiB: number;
}

/**
 * Measures from `start()` to `stop()`. getrusage's maxrss only ever grows over the process
 * lifetime, so a run's own peak comes from sampling RSS on a timer (unref'd, off the frame path).
 */
export class ResourceMonitor {
  private readonly cpuStart = process.cpuUsage();
  private readonly wallStart = process.hrtime.bigint();
  private peakRss = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    sampleIntervalMs: number,
    private readonly cores: number,
  ) {
    this.timer = setInterval(() => this.sample(), sampleIntervalMs);
    this.timer.unref();
  }

  /**
   * @param options.sampleIntervalMs RSS sampling period (default 50 ms)
   * @param options.cores cores of the machine for `cpuPercentOfMachine`
   */
  static start(options: { sampleIntervalMs?: number; cores: number }): ResourceMonitor {
    const interval = options.sampleIntervalMs ?? 50;
    if (!(interval > 0)) throw new RangeError(`options.sampleIntervalMs: expected > 0, got ${interval}`);
    if (!(options.cores >= 1)) throw new RangeError(`options.cores: expected >= 1, got ${options.cores}`);
    return new ResourceMonitor(interval, options.cores);
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peakRss) this.peakRss = rss;
  }

  stop(): ResourceUsage {
    clearInterval(this.timer);
    this.sample();
    const wallSeconds = Number(process.hrtime.bigint() - this.wallStart) / 1e9;
    const cpu = process.cpuUsage(this.cpuStart);
    const cpuCores = wallSeconds > 0 ? (cpu.user + cpu.system) / 1e6 / wallSeconds : 0;
    return {
      wallSeconds,
      cpuCores,
      cpuPercentOfMachine: (cpuCores / this.cores) * 100,
      peakRssMiB: this.peakRss / 2 ** 20,
      processPeakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  }
}
