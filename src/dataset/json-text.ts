/**
 * JSON parsing with positions for error messages. `JSON.parse` reports a character offset (or
 * nothing, at end of input); people fix files by line and column, so offsets become lines here.
 */
import { FoveaInputError } from "../core/errors.js";

/** 1-based line and column of a character offset. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * Parse JSON text; a syntax error becomes a FoveaInputError `file:line:column: invalid JSON: ...`.
 * `lineOffset` shifts the line (for one line of a JSON Lines file).
 */
export function parseJsonText(text: string, file: string, lineOffset = 0): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const m = /at position (\d+)/.exec(message);
    const offset = m ? Number(m[1]) : syntaxErrorOffset(text);
    const { line, column } = lineColumnAt(text, offset);
    throw new FoveaInputError(`${file}:${line + lineOffset}:${column}`, `invalid JSON: ${message}`, { cause: err });
  }
}

/** Does this text parse, or fail only because it ends early (a prefix of valid JSON)? */
function isValidPrefix(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch (err) {
    // V8 reports a prefix either as "Unexpected end" or as an error at the very end.
    const message = (err as Error).message;
    const m = /at position (\d+)/.exec(message);
    return /Unexpected end of JSON input/.test(message) || (m !== null && Number(m[1]) >= text.length);
  }
}

/**
 * Offset of the first bad character when V8's message has no position (it omits it for
 * "Unexpected token"): bisect for the longest prefix that is still valid-so-far JSON. Runs
 * only on an error, ~log2(length) parses.
 */
function syntaxErrorOffset(text: string): number {
  if (isValidPrefix(text)) return text.length;
  let lo = 0;
  let hi = text.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (isValidPrefix(text.slice(0, mid))) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

/**
 * Start offsets of the elements of each top-level array member of a JSON object
 * (`{"images": [ {...}, {...} ], ...}` -> images: [offset0, offset1]). Hand-written because
 * JSON.parse keeps no positions and no installed parser does; it only runs on text JSON.parse
 * already accepted, so it need not validate, just skip strings correctly.
 */
export function topLevelArrayElementOffsets(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const stack: string[] = [];
  let lastString = "";
  let key = "";
  let atElementStart = false;
  const record = (offset: number) => {
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(offset);
    atElementStart = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === " " || c === "\n" || c === "\r" || c === "\t") continue;
    const inTopArray = stack.length === 2 && stack[1] === "[";
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (stack.length === 1) lastString = text.slice(start + 1, i);
      if (inTopArray && atElementStart) record(start);
      continue;
    }
    if (inTopArray && atElementStart && c !== "]") record(i);
    if (c === ":" && stack.length === 1) key = lastString;
    else if (c === "{" || c === "[") {
      stack.push(c);
      if (stack.length === 2 && c === "[") atElementStart = true;
    } else if (c === "}" || c === "]") stack.pop();
    else if (c === "," && inTopArray) atElementStart = true;
  }
  return out;
}
