/**
 * Sets `key` as an own, enumerable data property even when it is `__proto__`: a plain
 * `o[key] = v` with that key would replace the object's prototype instead. For copies of
 * objects whose keys came from outside (JSON bodies, agent frames, provider claims).
 */
export function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}
