/**
 * `npm run lint`: typescript-eslint's type-checked rules over everything
 * tsconfig.json covers. The packages live in tools/lint/ (see its
 * package.json); scripts/lint.sh installs them.
 */
import { js, tseslint } from "./tools/lint/index.js";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", ".tools/", "tools/lint/node_modules/", ".stack/", ".data/", ".venv-synapse/", "coverage/", "examples/*/.venv/", "examples/*/workspace/", "bench/.build/", ".venv-python-agent/"] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "no-console": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-import-type-side-effects": "error",
      // `const { type: _type, ...rest } = x` drops a field on purpose.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
      // `let port; … port = make()` where callbacks built before `make` read it.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      // Passing a caught value on unchanged is fine; rejecting with a string is not.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true }],
    },
  },
  {
    // Test doubles implement Promise-returning ports; an async body without an
    // await is the plain way to write one (and keeps a throw a rejection).
    files: ["tests/**/*.ts"],
    rules: { "@typescript-eslint/require-await": "off" },
  },
  {
    // Plain JavaScript (this file, small CLI scripts) is outside tsconfig.json.
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", fetch: "readonly" } },
  },
  {
    // Command-line scripts talk to a person on the terminal; the bot logs through pino.
    files: ["scripts/**/*.mjs", "deploy/**/*.mjs"],
    rules: { "no-console": "off" },
  },
);
