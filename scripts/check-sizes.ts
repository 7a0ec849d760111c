/**
 * Prints the files and functions over the size the style guide asks for (files ~350 lines,
 * functions ~60), so a growing module is noticed: `node --import tsx scripts/check-sizes.ts`.
 */
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import ts from "typescript";

const FILE_MAX = 350;
const FUNCTION_MAX = 60;
const files = execFileSync("git", ["ls-files", "src/*.ts", "src/**/*.ts"], { encoding: "utf8" })
  .split("\n")
  .filter((f) => f.endsWith(".ts"));
let findings = 0;
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n").length;
  if (lines > FILE_MAX) {
    console.log(`${file}: ${lines} lines`);
    findings += 1;
  }
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2023, true);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (end - start + 1 > FUNCTION_MAX) {
        const name = node.name?.getText(source) ?? "(anonymous)";
        console.log(`${file}:${start + 1}: ${name} is ${end - start + 1} lines`);
        findings += 1;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
console.log(findings === 0 ? "sizes: all within the guide" : `sizes: ${findings} over the guide`);
