// What the unit tests that expect a refusal share: the error a call throws, of the class the test
// expects. Any other error fails the test as it was thrown; nothing thrown fails it too.
export function thrown<T>(type: abstract new (...args: never[]) => T, fn: () => unknown): T {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}
