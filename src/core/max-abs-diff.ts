/**
 * Largest absolute difference between two arrays of numbers: how the engines' parity (tfjs against
 * onnxruntime, the frame path against the loop-thread path) and the gradient tests compare
 * outputs. Arrays of different lengths, or a NaN anywhere, differ without bound (Infinity), so a
 * tolerance check can never pass on them.
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
}
