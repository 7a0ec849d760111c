import { createHash } from "node:crypto";

/**
 * Everything that determines the guest image's content. Its hash keys the cache: change any
 * part (a package, a guest-side file, the size) and the image is rebuilt; nothing else triggers
 * a rebuild. Pure.
 */
export interface ImageRecipe {
  /** Bump when the build steps change in a way the fields below do not capture. */
  readonly format: number;
  readonly suite: string;
  readonly variant: string;
  readonly packages: readonly string[];
  readonly imageSizeMiB: number;
  /** Guest-side files from images/, by name, with their content. */
  readonly files: Readonly<Record<string, string>>;
}

export const IMAGE_FORMAT = 1;
export const GUEST_FILES = ["guest-init.sh", "sshd_config", "fstab", "dpkg-excludes"] as const;

/**
 * The packages the bench.sh protocol needs in the guest, on the `essential` variant (no apt,
 * no init system); `mount` is not essential but guest-init needs it.
 */
export const GUEST_PACKAGES = [
  "openssh-server",
  "linux-perf",
  "kmod",
  "procps",
  "iproute2",
  "mount",
] as const;

export function defaultRecipe(files: Readonly<Record<string, string>>): ImageRecipe {
  return {
    format: IMAGE_FORMAT,
    suite: "bookworm",
    variant: "essential",
    packages: [...GUEST_PACKAGES],
    imageSizeMiB: 640,
    files,
  };
}

export function recipeHash(recipe: ImageRecipe): string {
  const canonical = JSON.stringify({
    format: recipe.format,
    suite: recipe.suite,
    variant: recipe.variant,
    packages: [...recipe.packages].sort(),
    imageSizeMiB: recipe.imageSizeMiB,
    files: Object.keys(recipe.files)
      .sort()
      .map((name) => [
        name,
        createHash("sha256")
          .update(recipe.files[name] ?? "")
          .digest("hex"),
      ]),
  });
  return createHash("sha256").update(canonical).digest("hex");
}

/** The mmdebstrap argv (no shell): minbase, our packages, the dpkg path filters. */
export function mmdebstrapArgs(
  recipe: ImageRecipe,
  dpkgExcludesPath: string,
  targetDir: string,
): string[] {
  return [
    `--variant=${recipe.variant}`,
    `--include=${[...recipe.packages].join(",")}`,
    `--dpkgopt=${dpkgExcludesPath}`,
    "--quiet",
    recipe.suite,
    targetDir,
  ];
}
