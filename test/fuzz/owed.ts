/**
 * Whether the error frames a hostile attachment client got (`got`, one letter a frame: B for
 * BadRequest, L for LimitExceeded, anything else for any other code) are those its frames owed
 * (`owed`, one letter a frame): `B` and `L` owe that frame, `l` (a write where stdin may be full)
 * owes an L or nothing. In order, none missing, none more.
 *
 * Run as a set of states over `owed`, linear in its length for each letter got. It was a RegExp
 * (`l` as `L?`), which backtracked through every way the optional L's could fall: 70 frames owed
 * and 22 L's got took 17 s for one test, polled every 5 ms, with the test's event loop (and so the
 * good client's reads and the hostile one's) held throughout (test/node/ws-hostile.test.ts).
 */
export function owedErrors(owed: string, got: string): boolean {
  let at = skipOptional(owed, new Set([0]));
  for (const letter of got) {
    const next = new Set<number>();
    for (const i of at) if (owed[i] === letter || (owed[i] === "l" && letter === "L")) next.add(i + 1);
    if (!next.size) return false;
    at = skipOptional(owed, next);
  }
  return at.has(owed.length);
}

/** `at`, and every place past the `l`s that follow one: an `l` may owe nothing. */
function skipOptional(owed: string, at: Set<number>): Set<number> {
  for (const i of at) if (owed[i] === "l") at.add(i + 1); // a Set visits what is added while iterating
  return at;
}
