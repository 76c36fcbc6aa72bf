/**
 * Bad input or configuration: a file, field or flag that is not what was expected.
 * The CLI prints the message and exits with code 2.
 */
export class FoveaInputError extends Error {
  readonly exitCode = 2;
  /**
   * @param where the file, flag or field at fault, e.g. `models/default/fovea.json` or `--source`
   * @param problem what is wrong and what was expected
   */
  constructor(
    readonly where: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${where}: ${problem}`, options);
    this.name = "FoveaInputError";
  }
}

/** Format a zod error's issues as `field: message` lines for a FoveaInputError. */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join(".") : "(root)"}: ${i.message}`).join("; ");
}
