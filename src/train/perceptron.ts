/**
 * The seed lecture's first teaching example: a single threshold neuron trained with the delta
 * (perceptron) rule, w <- w + rate * (target - output) * x. Plain TypeScript on purpose: it
 * shows the rule itself, and the tests use it as a sanity check of the training vocabulary.
 */

export interface Perceptron {
  /** One weight per input. */
  weights: number[];
  bias: number;
}

/** Threshold output (0 or 1) of the neuron for `input`. */
export function perceptronOutput(p: Perceptron, input: readonly number[]): 0 | 1 {
  let s = p.bias;
  for (let i = 0; i < p.weights.length; i++) s += p.weights[i] * input[i];
  return s > 0 ? 1 : 0;
}

export interface DeltaRuleOptions {
  /** Learning rate. Default 0.1. */
  rate?: number;
  /** Passes over the examples at most. Default 100. */
  maxEpochs?: number;
}

/**
 * Train a perceptron on `examples` (inputs with 0/1 targets) from zero weights with the delta
 * rule. Deterministic. Returns the neuron and the epochs needed until every example was right
 * (`converged` false if maxEpochs ran out — e.g. for XOR, which no single neuron can learn).
 */
export function trainPerceptron(
  examples: ReadonlyArray<{ input: readonly number[]; target: 0 | 1 }>,
  options: DeltaRuleOptions = {},
): { perceptron: Perceptron; epochs: number; converged: boolean } {
  if (examples.length === 0) throw new RangeError("examples: expected at least one example");
  const n = examples[0].input.length;
  if (examples.some((e) => e.input.length !== n)) throw new RangeError(`examples: every input must have ${n} values`);
  const rate = options.rate ?? 0.1;
  const maxEpochs = options.maxEpochs ?? 100;
  const p: Perceptron = { weights: new Array(n).fill(0), bias: 0 };
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    let errors = 0;
    for (const { input, target } of examples) {
      const delta = target - perceptronOutput(p, input);
      if (delta === 0) continue;
      errors++;
      for (let i = 0; i < n; i++) p.weights[i] += rate * delta * input[i];
      p.bias += rate * delta;
    }
    if (errors === 0) return { perceptron: p, epochs: epoch, converged: true };
  }
  return { perceptron: p, epochs: maxEpochs, converged: false };
}
