import { UsageError } from "../../core/errors.js";
import { fetchDebianKernel, resolveDebianKernel } from "./debian-kernel.js";
import type { KernelSpec } from "../../core/plan/kernel-spec.js";
import { buildKernel } from "../kernel-build/build-kernel.js";

/** `NAME=build:tree=DIR...`: built (or found in the cache) now, before anything boots. */
async function buildKernelSource(
  cache: string,
  spec: KernelSpec,
  progress: (line: string) => void,
): Promise<KernelSpec> {
  if (spec.build === undefined) return spec;
  progress(`kernel: ${spec.name} is built from ${spec.build.tree}`);
  const built = await buildKernel({ ...spec.build, cacheRoot: cache, progress });
  return {
    ...spec,
    kernelPath: built.bzImagePath,
    modulesDir: built.modulesDir,
    built: {
      ...built.identity,
      tree: spec.build.tree,
      ...(spec.build.ref === undefined ? {} : { ref: spec.build.ref }),
      key: built.key,
    },
  };
}

/** `NAME=debian:FLAVOUR` fetches Debian's current kernel of that flavour; paths pass through. */
export async function resolveKernelSource(
  cache: string,
  spec: KernelSpec,
  progress: (line: string) => void,
): Promise<KernelSpec> {
  if (spec.build !== undefined) return buildKernelSource(cache, spec, progress);
  const debian = /^debian:(.+)$/.exec(spec.kernelPath);
  if (debian?.[1] === undefined) return spec;
  if (spec.modulesDir !== undefined) {
    throw new UsageError(`kernel ${spec.name}=debian:${debian[1]} brings its own modules`, {
      hint: "drop modules=",
    });
  }
  const pkg = await resolveDebianKernel(debian[1]);
  progress(`kernel: ${spec.name} is Debian's ${pkg.packageName} ${pkg.version}`);
  const fetched = await fetchDebianKernel(cache, pkg, spec.name);
  return { ...fetched, cmdline: spec.cmdline };
}

/** The kernel builds to boot: each given one (fetching `debian:FLAVOUR`), else Debian's stock one. */
export async function resolveKernelSpecs(
  cache: string,
  kernels: readonly KernelSpec[],
  progress: (line: string) => void,
): Promise<KernelSpec[]> {
  const specs: KernelSpec[] = [];
  for (const spec of kernels) specs.push(await resolveKernelSource(cache, spec, progress));
  if (specs.length === 0) {
    specs.push(
      await resolveKernelSource(
        cache,
        { name: "debian-stock", kernelPath: "debian:amd64", cmdline: [] },
        progress,
      ),
    );
  }
  return specs;
}
