/**
 * JS Promise Integration, where the engine has it: lets a guest block in an
 * import (`poll`, WASI sleeps) while the host awaits. One capabilities object
 * instead of feature checks scattered through the code.
 */
export interface Jspi {
  suspending<A extends unknown[], R>(fn: (...args: A) => Promise<R>): unknown;
  promising<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<R>;
}

interface JspiWebAssembly {
  Suspending?: new (fn: (...args: never[]) => unknown) => unknown;
  promising?: (fn: (...args: never[]) => unknown) => (...args: unknown[]) => Promise<unknown>;
}

let cached: Jspi | null | undefined;

/** The JSPI capability, or undefined where this engine lacks it. */
export function jspi(): Jspi | undefined {
  if (cached === undefined) {
    const wa = WebAssembly as unknown as JspiWebAssembly;
    cached =
      typeof wa.Suspending === "function" && typeof wa.promising === "function"
        ? {
            suspending: (fn) => new wa.Suspending!(fn as never),
            promising: (fn) => wa.promising!(fn as never) as never,
          }
        : null;
  }
  return cached ?? undefined;
}
