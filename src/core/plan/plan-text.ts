import { basename } from "node:path";
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { UsageError } from "../errors.js";
import type { Plan } from "./plan.js";
import { PlanFieldError, formatPath, planFromFile, type Path } from "./plan-file.js";
import { planFileSchema } from "./plan-file-schema.js";

/** The node at `path`, or its nearest ancestor that exists, for a line number. */
function nodeAt(
  doc: Document,
  path: Path,
  keyOf?: string,
): { range?: [number, number, number] | null } | undefined {
  let node: unknown = doc.contents;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
      if (pair === undefined) break;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof part === "number" && node.items[part] !== undefined) {
      node = node.items[part];
    } else break;
  }
  if (keyOf !== undefined && isMap(node)) {
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === keyOf);
    if (pair !== undefined) node = pair.key;
  }
  return node as Node | undefined;
}

/** Pure: parses plan text (YAML, or JSON, which is YAML) into a Plan; errors name file, line and field. */
export function parsePlanText(text: string, fileName: string, baseDir: string): Plan {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number | undefined): string =>
    `${basename(fileName)}:${offset === undefined ? 1 : lineCounter.linePos(offset).line}`;
  const [syntax] = doc.errors;
  if (syntax !== undefined) {
    throw new UsageError(`${where(syntax.pos[0])}: ${syntax.message.split("\n")[0]}`, {
      hint: "fix the YAML syntax",
    });
  }
  const parsed = planFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
    const node = nodeAt(doc, issue.path as Path, key);
    const field = formatPath(
      key === undefined ? (issue.path as Path) : [...(issue.path as Path), key],
    );
    const message = key === undefined ? issue.message : `unknown field (a typo?)`;
    throw new UsageError(`${where(node?.range?.[0] ?? undefined)}: ${field}: ${message}`, {
      hint: "see the plan file reference in the README",
    });
  }
  try {
    return planFromFile(parsed.data, baseDir);
  } catch (error) {
    if (!(error instanceof PlanFieldError)) throw error;
    const node = nodeAt(doc, error.path);
    throw new UsageError(
      `${where(node?.range?.[0] ?? undefined)}: ${formatPath(error.path)}: ${error.message}`,
      { hint: error.hint ?? "fix the plan file" },
    );
  }
}
