// The import boundaries between src/'s layers, as ESLint config blocks (used by eslint.config.js,
// and by the lint test that proves they bite).
export const layers = [
  // core is pure (no I/O, no process) and imports no other layer; machine does I/O below the
  // experiment engine; experiment and live sit on machine; cli is on top.
  {
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/machine/**", "**/experiment/**", "**/live/**", "**/cli/**", "**/util/**"],
              message: "src/core is the pure core: it imports no I/O layer.",
            },
            {
              group: [
                "node:fs",
                "node:fs/*",
                "node:child_process",
                "node:net",
                "node:os",
                "execa",
                "ssh2",
              ],
              message: "src/core is the pure core: do the I/O in src/machine or src/experiment.",
            },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        { name: "process", message: "src/core does not touch process." },
      ],
    },
  },
  {
    files: ["src/machine/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/experiment/**", "**/live/**", "**/cli/**"],
              message: "src/machine sits below the experiment, live and cli layers.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/experiment/**/*.ts", "src/live/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/cli/**"],
              message: "only src/cli sits above the experiment and live layers.",
            },
          ],
        },
      ],
    },
  },
];
