import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Root of the repository or installed package: models/, proto/, scripts/ and the view page are
 * found from here. This file is src/core/package-root.ts in the repository and
 * dist/core/package-root.js when built, two levels below the root either way.
 */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
