import { ensureGuestImage, type GuestImage } from "../../src/machine/image/guest-image.js";
import { fetchDebianKernel, resolveDebianKernel } from "../../src/machine/kernel/debian-kernel.js";
import { prepareKernel, type PreparedKernel } from "../../src/machine/kernel/prepared-kernel.js";
import { cacheDir } from "../../src/util/paths.js";

/** The image and Debian's stock kernel, built or fetched into the user cache once per machine. */
export async function stockGuestParts(
  flavour = "amd64",
): Promise<{ image: GuestImage; kernel: PreparedKernel }> {
  const cache = cacheDir();
  const image = await ensureGuestImage(cache);
  const kernel = await prepareKernel(
    cache,
    await fetchDebianKernel(cache, await resolveDebianKernel(flavour)),
  );
  return { image, kernel };
}
