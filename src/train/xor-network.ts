/**
 * The seed lecture's second teaching example: a 3-3-1 sigmoid network (two inputs plus a
 * constant bias input, three hidden neurons, one output) learns XOR by backpropagation — the
 * function a single perceptron cannot represent. Plain TypeScript so every step of the
 * backward pass is visible; a deterministic seed makes the run reproducible.
 */
import { Rng } from "../core/prng.js";

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export interface XorNetwork {
  /** hidden[j][i]: weight from input i (x1, x2, bias) to hidden neuron j. */
  hidden: number[][];
  /** output[j]: weight from hidden neuron j (and, last, a bias) to the output. */
  output: number[];
}

/** Forward pass: the hidden activations and the output for inputs (x1, x2). */
export function xorForward(net: XorNetwork, x1: number, x2: number): { hidden: number[]; out: number } {
  const input = [x1, x2, 1];
  const hidden = net.hidden.map((w) => sigmoid(w[0] * input[0] + w[1] * input[1] + w[2] * input[2]));
  let s = net.output[hidden.length];
  hidden.forEach((h, j) => (s += net.output[j] * h));
  return { hidden, out: sigmoid(s) };
}

export const XOR_EXAMPLES: ReadonlyArray<{ input: [number, number]; target: number }> = [
  { input: [0, 0], target: 0 },
  { input: [0, 1], target: 1 },
  { input: [1, 0], target: 1 },
  { input: [1, 1], target: 0 },
];

export interface XorTrainingOptions {
  seed?: number;
  /** Learning rate. Default 0.5. */
  rate?: number;
  epochs?: number;
}

/**
 * Online backpropagation of the squared error on the four XOR examples from small random
 * weights. Returns the network and the mean squared error after each epoch.
 */
export function trainXor(options: XorTrainingOptions = {}): { net: XorNetwork; mse: number[] } {
  const rng = new Rng(options.seed ?? 1);
  const rate = options.rate ?? 0.5;
  const epochs = options.epochs ?? 5000;
  const net: XorNetwork = {
    hidden: Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => rng.range(-1, 1))),
    output: Array.from({ length: 4 }, () => rng.range(-1, 1)),
  };
  const mse: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    let sq = 0;
    for (const { input, target } of XOR_EXAMPLES) {
      const { hidden, out } = xorForward(net, input[0], input[1]);
      const err = out - target;
      sq += err * err;
      // dE/dnet at the output, through the sigmoid's derivative out*(1-out).
      const dOut = err * out * (1 - out);
      const dHidden = hidden.map((h, j) => dOut * net.output[j] * h * (1 - h));
      hidden.forEach((h, j) => (net.output[j] -= rate * dOut * h));
      net.output[3] -= rate * dOut;
      const x = [input[0], input[1], 1];
      dHidden.forEach((d, j) => x.forEach((xi, i) => (net.hidden[j][i] -= rate * d * xi)));
    }
    mse.push(sq / XOR_EXAMPLES.length);
  }
  return { net, mse };
}
