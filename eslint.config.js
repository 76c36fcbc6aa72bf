// ESLint flat config: typescript-eslint's recommended rules, plus the type-aware rules that catch
// what tsc does not (a promise nobody awaits, a type imported as a value). Formatting is
// prettier's job (npm run format), not ESLint's.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "data/", "out/", "models/", ".scratch/", ".bench-dist/", ".vitest-cache/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Closures that read a variable assigned after them (a pipeline's own event handlers) and
      // destructurings where one name is reassigned are fine as `let`.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true, destructuring: "all" }],
      // tsc (noUnusedLocals) reports unused names; `_`-prefixed ones are deliberate.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { project: "./tsconfig.check.json", tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A dropped promise is an unhandled rejection or a race: await it, return it, or say `void`.
      "@typescript-eslint/no-floating-promises": "error",
      // Type-only imports are erased under isolatedModules; marking them keeps value imports real.
      // `typeof import("...")` annotations stay allowed: they type a module loaded on demand.
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports", disallowTypeAnnotations: false }],
      // One private-field style: TypeScript's `private`, which most classes use; no `#name` fields.
      "no-restricted-syntax": [
        "error",
        {
          selector: ":matches(PropertyDefinition, MethodDefinition, AccessorProperty) > PrivateIdentifier.key",
          message: "Use TypeScript's `private` modifier, not a #private field.",
        },
      ],
    },
  },
  { files: ["**/*.mjs", "**/*.cjs", "scripts/**/*.js"], languageOptions: { globals: globals.node } },
  { files: ["**/*.cjs"], rules: { "@typescript-eslint/no-require-imports": "off" } },
  { files: ["src/view/page/**/*.js"], languageOptions: { globals: globals.browser } },
);
