import { expect } from "vitest";
import { FoveaInputError } from "../../src/core/errors.js";

/** Awaits a promise that must reject with a FoveaInputError and returns it for message checks. */
export async function inputError(p: Promise<unknown>): Promise<FoveaInputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FoveaInputError);
  return err as FoveaInputError;
}
