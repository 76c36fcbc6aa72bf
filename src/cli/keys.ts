/**
 * `fovea keys`: make a CURVE key pair for the detection stream, as NAME.pub and NAME.secret.
 * The robot runs with its secret (`fovea run --curve-secret server.secret`), each controller's
 * NAME.pub goes into the directory `--curve-clients` names, and controllers get server.pub.
 */
import { mkdir } from "node:fs/promises";
import type { Command } from "commander";
import { FoveaInputError } from "../core/errors.js";
import { writeKeyPair } from "../publish/curve-auth.js";

export function registerKeys(program: Command): void {
  program
    .command("keys")
    .description("Make a CURVE key pair (NAME.pub, NAME.secret) to authenticate and encrypt the detection stream")
    .requiredOption("--out <dir>", "directory to write the key pair into (created if missing)")
    .option("--name <name>", "file name of the pair: the robot's own (server) or a controller's", "server")
    .option("--force", "replace an existing pair of that name")
    .action(async (flags: { out: string; name: string; force?: boolean }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(flags.name)) {
        throw new FoveaInputError("--name", `expected a file name of letters, digits, '.', '_' or '-', got ${JSON.stringify(flags.name)}`);
      }
      await mkdir(flags.out, { recursive: true }).catch((err: unknown) => {
        throw new FoveaInputError("--out", `cannot create ${flags.out} (${(err as Error).message})`, { cause: err });
      });
      const { publicFile, secretFile, publicKey } = await writeKeyPair(flags.out, flags.name, { force: flags.force });
      process.stdout.write(`public key ${publicKey}\n  ${publicFile} (give it to the other side)\n  ${secretFile} (keep it private)\n`);
    });
}
