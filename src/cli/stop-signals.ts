/**
 * The requested-stop convention of the long-running commands (synth, record, train): the first
 * SIGINT or SIGTERM asks the work to stop at its next safe point (an AbortSignal whose reason is
 * the signal's name); both handlers go with it, so a second signal of either kind finds none and
 * its default action ends the process at once (exit 130 / 143).
 */
export interface StopSignals {
  /** Aborted by the first SIGINT/SIGTERM, with the signal's name as the reason. */
  readonly signal: AbortSignal;
  /** Removes the handlers (when the work ended without a signal). */
  dispose(): void;
}

export function onStopSignals(onStop?: (signal: NodeJS.Signals) => void): StopSignals {
  const abort = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    dispose();
    onStop?.(signal);
    abort.abort(signal);
  };
  const dispose = () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return { signal: abort.signal, dispose };
}
