import { UsageError } from "../errors.js";
import type { BalloonDeviceSpec } from "../qemu/qemu-argv.js";
import { assertFeatureDependencies, specName } from "./feature-bits.js";

export const BALLOON_DEVICE_ID = "balloon0";
export const BALLOON_IOTHREAD_ID = "balloon-iothread0";
/** The QOM path x-query-virtio reports for our balloon device. */
export const BALLOON_VIRTIO_PATH = `/machine/peripheral/${BALLOON_DEVICE_ID}/virtio-backend`;
/** QOM path of the balloon device itself (`-device virtio-balloon-pci,id=balloon0`). */
export const BALLOON_QOM_PATH = `/machine/peripheral/${BALLOON_DEVICE_ID}`;
const FREE_PAGE_HINT_BIT = 3;

export interface BalloonDeviceRequest {
  /** The feature bits to offer; every mapped bit not listed is switched off where QEMU has it. */
  readonly bits: readonly number[];
  readonly propertyMap: ReadonlyMap<number, string>;
  /** Properties this QEMU's virtio-balloon-pci has (from `-device virtio-balloon-pci,help`). */
  readonly availableProperties: ReadonlySet<string>;
  /** Extra device properties, appended after the feature properties. */
  readonly extraProperties?: readonly (readonly [string, string])[];
}

/**
 * The balloon device for a set of feature bits. Mapped bits are set explicitly on or off so the
 * device offers exactly what was asked (page-poison is on by default in QEMU); a property this
 * QEMU lacks is left out when its bit is off, and is an error when its bit is on. A mapped property
 * the config sets itself (extraProperties, e.g. `x-device-init-reported=auto`) is passed as given,
 * once, instead of on/off: the device then decides, and verification records what it offered.
 */
export function balloonDeviceForFeatures(request: BalloonDeviceRequest): BalloonDeviceSpec {
  assertFeatureDependencies(request.bits);
  const wanted = new Set(request.bits);
  for (const bit of wanted) {
    if (bit <= 1) continue; // Not controlled by a property: QEMU never offers 0, always offers 1.
    const property = request.propertyMap.get(bit);
    if (property === undefined) {
      throw new UsageError(`bit ${bit} (${specName(bit)}) has no QEMU property mapped`, {
        hint: `map it with --map ${bit}=PROPERTY`,
      });
    }
    if (!request.availableProperties.has(property)) {
      throw new UsageError(
        `bit ${bit} (${specName(bit)}) needs virtio-balloon-pci property '${property}', which this QEMU does not have`,
        {
          hint: "run `balloon-bench probe` to see what this QEMU offers, or use --qemu with a QEMU that has it",
        },
      );
    }
  }
  const extra = new Map(request.extraProperties ?? []);
  const properties: (readonly [string, string])[] = [];
  for (const [bit, property] of [...request.propertyMap].sort(([a], [b]) => a - b)) {
    const own = extra.get(property);
    if (own !== undefined) {
      // The config sets this bit's property itself (e.g. x-device-init-reported=auto).
      assertNotSwitchedOff(bit, property, own, wanted.has(bit));
      continue;
    }
    if (!request.availableProperties.has(property)) continue;
    properties.push([property, wanted.has(bit) ? "on" : "off"]);
  }
  properties.push(...extra);
  return {
    id: BALLOON_DEVICE_ID,
    properties,
    iothreadId: wanted.has(FREE_PAGE_HINT_BIT) ? BALLOON_IOTHREAD_ID : undefined,
  };
}

/** A config may set a bit's property itself (`auto`), but not switch off a bit it requests. */
function assertNotSwitchedOff(bit: number, property: string, value: string, wanted: boolean) {
  if (wanted && /^(off|false|no)$/i.test(value)) {
    throw new UsageError(
      `bit ${bit} (${specName(bit)}) is requested, but the config sets ${property}=${value}`,
      { hint: `drop ${property} from the config's properties, or bit ${bit} from its bits` },
    );
  }
}
