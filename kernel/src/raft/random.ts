/**
 * Randomness is injected so that one seed replays a whole simulated cluster. The core only
 * needs integers (election jitter); the simulator also draws probabilities.
 */
import { randomInt } from 'node:crypto';

export interface Random {
  /** A uniform integer in [0, bound). */
  nextInt(bound: number): number;
  /** A uniform float in [0, 1). */
  nextFloat(): number;
}

/**
 * xoshiro128** (Blackman and Vigna): 128 bits of state, fast in 32-bit integer arithmetic,
 * which is what JavaScript does well. Seeded through splitmix32 so that nearby seeds give
 * unrelated streams and the all-zero state cannot occur.
 */
export class SeededRandom implements Random {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0) throw new RangeError(`bound must be a positive integer: ${bound}`);
    return Math.floor(this.nextFloat() * bound);
  }

  /** A uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.nextInt(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.nextFloat() < probability;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** crypto.randomInt's range must stay below 2^48. */
const FLOAT_STEPS = 2 ** 47;

/** Real randomness for a running broker: election jitter must differ between voters. */
export const systemRandom: Random = {
  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0) throw new RangeError(`bound must be a positive integer: ${bound}`);
    return randomInt(bound);
  },
  nextFloat(): number {
    return randomInt(FLOAT_STEPS) / FLOAT_STEPS;
  },
};
