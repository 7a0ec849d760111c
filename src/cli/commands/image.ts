import { ensureGuestImage } from "../../machine/image/guest-image.js";
import { cacheDir } from "../../util/paths.js";
import type { CliIo } from "../io.js";

/** `balloon-bench image build`: the guest image now (cached by recipe hash). */
export async function imageBuildCommand(options: { force?: boolean }, io: CliIo): Promise<void> {
  const built = await ensureGuestImage(cacheDir(), {
    force: options.force === true,
    progress: (m) => io.stderr(`${m}\n`),
  });
  io.stdout(
    `${built.built ? "built" : "up to date"}: ${built.basePath} (recipe ${built.hash.slice(0, 16)})\n`,
  );
}
