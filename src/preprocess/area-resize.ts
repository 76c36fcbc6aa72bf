/**
 * Exact area (box) resize of interleaved RGB bytes, the `area` preprocessing kernel.
 *
 * Hand-written because no kept library does it cheaply enough for the frame loop: sharp/libvips
 * has no area kernel (its `linear` downscale costs ~2.4 ms on a 640x480 frame on the 2-core
 * target, mostly fixed pipeline cost and reading the input on one thread), and every frame of the
 * 60 fps loop pays it. Each output pixel is the average of the input it covers, weighted by
 * covered area, rounded half up to a byte — the textbook definition, so tests can compare with a
 * straightforward float reference.
 *
 * Weights are exact integers: with g = gcd(in, out), an input pixel is out/g units wide and an
 * output pixel in/g units, so every overlap is a whole number of units and no weight rounds.
 *
 * Speed: rows are summed first (vertical pass) over the full width, reading the frame once,
 * four bytes per 32-bit load, two bytes per 16-bit lane ("SWAR"): one load feeds four channel
 * sums. The narrow vertical sums are then reduced horizontally. Buffers are allocated once per
 * size, so a frame allocates nothing.
 */

/** Typed arrays use the platform's byte order; the lane unpacking assumes little-endian words. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Integer area weights of one axis. */
interface AxisPlan {
  /** First input index each output index covers. */
  first: Int32Array;
  /** Number of input indices each output index covers. */
  count: Int32Array;
  /** Start of each output index's weights in `weights` (length out+1). */
  start: Int32Array;
  weights: Int32Array;
  /** Sum of the weights of every output index. */
  total: number;
}

function axisPlan(inSize: number, outSize: number): AxisPlan {
  const g = gcd(inSize, outSize);
  const inUnit = outSize / g; // width of one input pixel in units
  const outUnit = inSize / g; // width of one output pixel in units
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const start = new Int32Array(outSize + 1);
  const weights: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const lo = o * outUnit;
    const hi = lo + outUnit;
    const i0 = Math.floor(lo / inUnit);
    const i1 = Math.ceil(hi / inUnit);
    first[o] = i0;
    count[o] = i1 - i0;
    start[o] = weights.length;
    for (let i = i0; i < i1; i++) weights.push(Math.min(hi, (i + 1) * inUnit) - Math.max(lo, i * inUnit));
  }
  start[outSize] = weights.length;
  return { first, count, start, weights: Int32Array.from(weights), total: outUnit };
}

function checkSize(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name}: expected a positive integer, got ${value}`);
}

/** Area resize of rgb24 images of one input size to one output size (reuse it across frames). */
export class AreaResizer {
  readonly inWidth: number;
  readonly inHeight: number;
  readonly outWidth: number;
  readonly outHeight: number;
  private readonly v: AxisPlan;
  private readonly h: AxisPlan;
  /** Input column of each output column's first covered pixel, times 3 (a byte offset). */
  private readonly hFirst3: Int32Array;
  /** Vertical sums of one output row, one per input byte of a row. */
  private readonly rowSum: Int32Array;
  /** SWAR accumulators: bytes 0 and 2 / 1 and 3 of each 32-bit word, 16 bits per lane. */
  private readonly laneLo: Int32Array;
  private readonly laneHi: Int32Array;
  /**
   * The SWAR path needs little-endian words, whole 32-bit words per row and lane sums that stay
   * below 2^15 (the high lane shares the sign bit of an Int32Array element): 255 * vertical
   * total < 32768.
   */
  private readonly swarRows: boolean;
  private wordView: Int32Array | undefined;

  constructor(inWidth: number, inHeight: number, outWidth: number, outHeight: number) {
    checkSize("inWidth", inWidth);
    checkSize("inHeight", inHeight);
    checkSize("outWidth", outWidth);
    checkSize("outHeight", outHeight);
    this.inWidth = inWidth;
    this.inHeight = inHeight;
    this.outWidth = outWidth;
    this.outHeight = outHeight;
    this.v = axisPlan(inHeight, outHeight);
    this.h = axisPlan(inWidth, outWidth);
    if (255 * this.v.total * this.h.total > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`inWidth/inHeight: ${inWidth}x${inHeight} -> ${outWidth}x${outHeight} overflows the integer weights`);
    }
    this.hFirst3 = this.h.first.map((x) => x * 3);
    const rowBytes = inWidth * 3;
    this.rowSum = new Int32Array(rowBytes);
    this.swarRows = LITTLE_ENDIAN && rowBytes % 4 === 0 && 255 * this.v.total < 32768;
    this.laneLo = new Int32Array(this.swarRows ? rowBytes / 4 : 0);
    this.laneHi = new Int32Array(this.swarRows ? rowBytes / 4 : 0);
  }

  /**
   * Resize `src` (inWidth*inHeight*3 bytes of interleaved RGB) into `dst`
   * (outWidth*outHeight*3 bytes). Synchronous, so one resizer may serve concurrent callers.
   */
  resize(src: Uint8Array, dst: Uint8Array): Uint8Array {
    const inBytes = this.inWidth * this.inHeight * 3;
    const outBytes = this.outWidth * this.outHeight * 3;
    if (src.length !== inBytes) {
      throw new RangeError(`src: expected ${inBytes} bytes of rgb24 for ${this.inWidth}x${this.inHeight}, got ${src.length}`);
    }
    if (dst.length < outBytes) {
      throw new RangeError(`dst: expected at least ${outBytes} bytes for ${this.outWidth}x${this.outHeight}, got ${dst.length}`);
    }
    // 32-bit loads need a 4-byte aligned start; an unaligned frame (a slice of a bigger buffer)
    // takes the byte path, which gives identical results.
    const words = this.swarRows && src.byteOffset % 4 === 0 ? this.words(src) : undefined;
    for (let oy = 0; oy < this.outHeight; oy++) {
      if (words) this.sumRowsSwar(words, oy);
      else this.sumRowsBytes(src, oy);
      this.reduceRow(oy, dst);
    }
    return dst;
  }

  /** A 32-bit view of `src`, kept while frames keep arriving in the same buffer. */
  private words(src: Uint8Array): Int32Array {
    const view = this.wordView;
    if (view && view.buffer === src.buffer && view.byteOffset === src.byteOffset) return view;
    return (this.wordView = new Int32Array(src.buffer, src.byteOffset, src.length >> 2));
  }

  /** rowSum = weighted sum of the input rows output row `oy` covers (byte at a time). */
  private sumRowsBytes(src: Uint8Array, oy: number): void {
    const rowBytes = this.inWidth * 3;
    const sum = this.rowSum;
    const { weights } = this.v;
    const ws = this.v.start[oy];
    const n = this.v.count[oy];
    let p = this.v.first[oy] * rowBytes;
    const w0 = weights[ws];
    for (let x = 0; x < rowBytes; x++) sum[x] = src[p + x] * w0;
    p += rowBytes;
    for (let k = 1; k < n; k++) {
      const w = weights[ws + k];
      for (let x = 0; x < rowBytes; x++) sum[x] += src[p + x] * w;
      p += rowBytes;
    }
  }

  /**
   * Same sums as sumRowsBytes, four bytes per load, up to four input rows per pass. The last pass
   * unpacks the lanes straight into rowSum, so an output row covering at most four input rows
   * (any reduction up to 3x) needs one pass and no lane stores; stores cost more than loads here
   * (four rows per pass measured 10-15% less CPU than two on 640x480 -> 100x100).
   */
  private sumRowsSwar(src: Int32Array, oy: number): void {
    const nWords = this.laneLo.length;
    const lo = this.laneLo;
    const hi = this.laneHi;
    const { weights } = this.v;
    const ws = this.v.start[oy];
    const n = this.v.count[oy];
    let p = this.v.first[oy] * nWords;
    let k = 0;
    // Whole groups of four rows into the lanes while more than four rows remain.
    for (; n - k > 4; k += 4) {
      const wa = weights[ws + k];
      const wb = weights[ws + k + 1];
      const wc = weights[ws + k + 2];
      const wd = weights[ws + k + 3];
      const q = p + nWords;
      const r = q + nWords;
      const t = r + nWords;
      const first = k === 0;
      for (let x = 0; x < nWords; x++) {
        const a = src[p + x];
        const b = src[q + x];
        const c = src[r + x];
        const d = src[t + x];
        const l = (a & 0xff00ff) * wa + (b & 0xff00ff) * wb + (c & 0xff00ff) * wc + (d & 0xff00ff) * wd;
        const h = ((a >> 8) & 0xff00ff) * wa + ((b >> 8) & 0xff00ff) * wb + ((c >> 8) & 0xff00ff) * wc + ((d >> 8) & 0xff00ff) * wd;
        lo[x] = first ? l : lo[x] + l;
        hi[x] = first ? h : hi[x] + h;
      }
      p += 4 * nWords;
    }
    // The last one to four rows; missing rows repeat the group's first row with weight 0.
    const left = n - k;
    const wa = weights[ws + k];
    const wb = left > 1 ? weights[ws + k + 1] : 0;
    const wc = left > 2 ? weights[ws + k + 2] : 0;
    const wd = left > 3 ? weights[ws + k + 3] : 0;
    const q = left > 1 ? p + nWords : p;
    const r = left > 2 ? p + 2 * nWords : p;
    const t = left > 3 ? p + 3 * nWords : p;
    const carry = k > 0;
    // Unpack: little-endian words, so byte 4x is the low half of lo, 4x+1 of hi, and so on.
    const sum = this.rowSum;
    for (let x = 0, j = 0; x < nWords; x++, j += 4) {
      const a = src[p + x];
      const b = src[q + x];
      const c = src[r + x];
      const d = src[t + x];
      let l = (a & 0xff00ff) * wa + (b & 0xff00ff) * wb + (c & 0xff00ff) * wc + (d & 0xff00ff) * wd;
      let h = ((a >> 8) & 0xff00ff) * wa + ((b >> 8) & 0xff00ff) * wb + ((c >> 8) & 0xff00ff) * wc + ((d >> 8) & 0xff00ff) * wd;
      if (carry) {
        l += lo[x];
        h += hi[x];
      }
      sum[j] = l & 0xffff;
      sum[j + 1] = h & 0xffff;
      sum[j + 2] = l >>> 16;
      sum[j + 3] = h >>> 16;
    }
  }

  /** Horizontal pass of output row `oy` from rowSum, rounded half up into dst. */
  private reduceRow(oy: number, dst: Uint8Array): void {
    const sum = this.rowSum;
    const { weights, start, count } = this.h;
    const first3 = this.hFirst3;
    const total = this.v.total * this.h.total;
    const half = Math.floor(total / 2);
    let q = oy * this.outWidth * 3;
    for (let ox = 0; ox < this.outWidth; ox++) {
      const ws = start[ox];
      const n = count[ox];
      let p = first3[ox];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < n; k++) {
        const w = weights[ws + k];
        r += sum[p] * w;
        g += sum[p + 1] * w;
        b += sum[p + 2] * w;
        p += 3;
      }
      // Integer sums divided by an integer total: the double quotient is never off by enough to
      // cross an integer, so floor((s + half) / total) is exact rounding.
      dst[q] = Math.floor((r + half) / total);
      dst[q + 1] = Math.floor((g + half) / total);
      dst[q + 2] = Math.floor((b + half) / total);
      q += 3;
    }
  }
}
