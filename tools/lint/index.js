// The linter's packages, resolved from this folder's own node_modules (see
// package.json here for why they are not in the root one).
export { default as js } from "@eslint/js";
export { default as tseslint } from "typescript-eslint";
