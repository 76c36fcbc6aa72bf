/**
 * Unix epoch time in nanoseconds from the monotonic high-resolution clock.
 * `Date.now()` has millisecond resolution and can step; `performance.now()` is monotonic with
 * sub-microsecond resolution and `performance.timeOrigin` anchors it to the epoch once.
 */
const originNs = BigInt(Math.round(performance.timeOrigin * 1e6));

export function epochNowNs(): bigint {
  return originNs + BigInt(Math.round(performance.now() * 1e6));
}
