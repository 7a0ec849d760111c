import type { z } from "zod";
import { UsageError } from "../errors.js";
import { featureFindings } from "../balloon/feature-findings.js";
import {
  MANIFEST_SCHEMA,
  manifestSchema,
  type FeaturesRecord,
  type ImportCell,
  type Manifest,
} from "./manifest.js";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const str = (value: unknown, fallback: string): string =>
  typeof value === "string" ? value : fallback;
const numbers = (value: unknown): number[] =>
  Array.isArray(value) ? value.filter((v): v is number => typeof v === "number") : [];

/** A schema-1 cell's features (a run of the first version), completed with its findings. */
function legacyFeatures(cell: Record<string, unknown>, kernel: string): FeaturesRecord | undefined {
  const f = cell["features"];
  if (!isRecord(f)) return undefined;
  const requested = numbers(f["requested"]);
  const offered = numbers(f["offered"]);
  const negotiatedSysfs = numbers(f["negotiatedSysfs"]);
  const findings = featureFindings(requested, offered, negotiatedSysfs, kernel);
  return {
    requested,
    offered,
    negotiatedQmp: numbers(f["negotiatedQmp"]),
    negotiatedSysfs,
    sysfsString: typeof f["sysfsString"] === "string" ? f["sysfsString"] : null,
    verified: findings.length === 0,
    findings,
  };
}

/**
 * Schema 1 (the first `run`, and `import` before plans existed) holds no plan or fingerprint:
 * it becomes an import-kind manifest, which compare reads and run refuses to resume.
 */
function upgradeSchema1(old: Record<string, unknown>): unknown {
  const nested = (key: string, field: string): unknown =>
    isRecord(old[key]) ? old[key][field] : undefined;
  const cells = Array.isArray(old["cells"]) ? old["cells"].filter(isRecord) : [];
  return {
    schema: MANIFEST_SCHEMA,
    kind: "import",
    tool: old["tool"],
    createdAt: old["createdAt"],
    upgradedFrom: 1,
    cells: cells.map((cell): ImportCell => {
      const imported = isRecord(cell["imported"]) ? cell["imported"] : undefined;
      const kernel = str(isRecord(cell["kernel"]) ? cell["kernel"]["name"] : undefined, "unknown");
      const features = legacyFeatures(cell, kernel);
      return {
        id: str(cell["id"], ""),
        status: "complete",
        kernelName: kernel,
        configName: str(isRecord(cell["config"]) ? cell["config"]["name"] : undefined, "unknown"),
        workload: str(cell["workload"], "unknown"),
        environment: {
          accelerator: str(imported?.["accelerator"] ?? nested("accelerator", "used"), "unknown"),
          qemuVersion:
            typeof nested("qemu", "version") === "string"
              ? str(nested("qemu", "version"), "")
              : null,
          cpuModel:
            typeof nested("host", "cpuModel") === "string"
              ? str(nested("host", "cpuModel"), "")
              : null,
        },
        imported: {
          from: imported === undefined ? ["schema-1 run"] : [str(imported["from"], "unknown")],
          runs: typeof imported?.["runs"] === "number" ? imported["runs"] : 0,
        },
        ...(features === undefined ? {} : { features }),
      };
    }),
  };
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "it does not match the results format";
  const path = issue.path.map(String).join(".");
  return `${path === "" ? "(top level)" : path}: ${issue.message}`;
}

/**
 * Pure: a manifest as read from `file`, upgraded to the current schema. Schema 2 (`run` before
 * this format was declared in one place) differs only in lacking `kind`; schema 1 becomes an
 * import-kind manifest (compare reads it; run cannot resume it). Anything else is refused with
 * one line naming the file.
 */
export function parseManifest(json: unknown, file: string): Manifest {
  if (!isRecord(json) || typeof json["schema"] !== "number") {
    throw new UsageError(`${file} is not a balloon-bench manifest (no schema number)`, {
      hint: "pass a directory written by `balloon-bench run`, `import` or `merge`",
    });
  }
  const schema = json["schema"];
  if (schema > MANIFEST_SCHEMA) {
    throw new UsageError(
      `${file} was written by a newer balloon-bench (results schema ${schema}; this one reads up to ${MANIFEST_SCHEMA})`,
      { hint: "upgrade balloon-bench to read it" },
    );
  }
  const candidate =
    schema === MANIFEST_SCHEMA
      ? json
      : schema === 2
        ? { ...json, schema: MANIFEST_SCHEMA, kind: "run" }
        : upgradeSchema1(json);
  const parsed = manifestSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new UsageError(
      `${file} is damaged or not a results manifest: ${describeIssue(parsed.error)}`,
      {
        hint: "restore it from a copy, or re-run the experiment into a new --out",
      },
    );
  }
  return parsed.data;
}
