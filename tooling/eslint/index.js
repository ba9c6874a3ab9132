// Shared lint rules: type-aware, with the import hygiene STYLE.md asks for.
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/** @param {string} tsconfigRootDir */
export function repensarLint(tsconfigRootDir, extra = []) {
  return tseslint.config(
    {
      ignores: ["**/node_modules/**", "**/dist/**", "**/.next/**", "**/drizzle/**", "**/*.js", "**/*.mjs", "next-env.d.ts"],
    },
    ...tseslint.configs.recommended,
    {
      files: ["**/*.ts", "**/*.tsx"],
      languageOptions: {
        parserOptions: { projectService: true, tsconfigRootDir },
      },
      plugins: { "import-x": importX },
      settings: {
        "import-x/resolver-next": [importX.createNodeResolver({ extensions: [".ts", ".tsx", ".js"] })],
        // Cycles are a property of our own sources; never parse installed packages for them.
        "import-x/ignore": ["node_modules"],
      },
      rules: {
        "@typescript-eslint/no-floating-promises": "error",
        "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
        "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
        "@typescript-eslint/no-explicit-any": "error",
        "@typescript-eslint/no-non-null-assertion": "error",
        "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        "import-x/no-cycle": ["error", { maxDepth: 10, ignoreExternal: true }],
        "import-x/no-relative-packages": "error",
        eqeqeq: ["error", "always", { null: "ignore" }],
        "no-restricted-properties": [
          "error",
          { object: "process", property: "env", message: "Read the environment in env.ts only." },
        ],
      },
    },
    {
      files: ["**/env.ts", "**/instrumentation.ts", "**/*.test.ts", "**/*.test.tsx", "**/test/**", "**/testing/**", "**/vitest.config.ts", "**/scripts/**", "**/drizzle.config.ts", "**/testing.ts"],
      rules: { "no-restricted-properties": "off" },
    },
    ...extra,
  );
}
