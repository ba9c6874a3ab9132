/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then randomness. Ids created offline on many
 * devices never collide in practice, and sort by creation time, which keeps B-tree inserts local
 * on the server and makes `list()` come back in creation order.
 *
 * Within one millisecond the 12-bit `rand_a` field is a counter (RFC 9562 §6.2, method 1), so ids
 * made by one process are strictly increasing even when the clock stands still or steps back.
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

// Random bytes drawn from the CSPRNG in blocks: one getRandomValues call per id cost more than
// the rest of making the id, which showed in bulk imports (two ids per created row).
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomBytes(count: number): Uint8Array {
  if (poolOffset + count > POOL_SIZE) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const bytes = pool.slice(poolOffset, poolOffset + count);
  poolOffset += count;
  return bytes;
}

/** A generator with its own monotonic state; `uuidv7` is the process-wide one. */
export function createUuidV7Generator(): (now?: number) => string {
  let lastMs = -1;
  let counter = 0;
  return (now = Date.now()) => {
    let ms = Math.max(Math.floor(now), lastMs);
    if (ms === lastMs) {
      counter += 1;
      if (counter > 0xfff) {
        // Counter exhausted: borrow the next millisecond rather than repeat or go backwards.
        ms += 1;
        counter = randomCounterStart();
      }
    } else {
      counter = randomCounterStart();
    }
    lastMs = ms;

    const bytes = randomBytes(16);
    // 48-bit big-endian timestamp. Division, not bit shifts: shifts truncate to 32 bits.
    let t = ms;
    for (let i = 5; i >= 0; i--) {
      bytes[i] = t % 256;
      t = Math.floor(t / 256);
    }
    bytes[6] = 0x70 | (counter >> 8); // version 7 + high 4 bits of the counter
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f); // variant 10

    let out = "";
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
      out += HEX[bytes[i] ?? 0];
    }
    return out;
  };
}

export const uuidv7: (now?: number) => string = createUuidV7Generator();

/** Starts each millisecond's counter low and random, leaving room to count up. */
function randomCounterStart(): number {
  return (randomBytes(1)[0] ?? 0) & 0x7f;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isUuidV7(value: string): boolean {
  return UUID_V7.test(value);
}

/** The creation time carried by a UUIDv7, in Unix milliseconds. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
