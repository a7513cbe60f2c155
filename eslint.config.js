// Lint rules for the whole repository: ESLint's and typescript-eslint's recommended sets.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "data/", "bench/out/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Tests and fake servers read parsed JSON of any shape.
    files: ["**/*.test.ts", "test/helpers/**", "**/fake-*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrors: "none",
        },
      ],
    },
  },
);
