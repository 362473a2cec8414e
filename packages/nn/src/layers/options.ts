/** Throws if `options` has a key outside `allowed`, naming the key and the owner. */
export function checkOptionKeys(owner: string, options: object | undefined, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') {
    throw new Error(`${owner}: options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new Error(`${owner}: unknown option '${key}' (allowed: ${allowed.join(', ')})`);
    }
  }
}

export function checkPositiveInt(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`${owner}: option '${name}' must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function checkNonNegativeInt(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new Error(`${owner}: option '${name}' must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
