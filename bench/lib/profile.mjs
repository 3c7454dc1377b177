// Reads a V8 CPU profile (.cpuprofile, from Node's inspector or workerd's)
// into self and inclusive time per function, for `node bench/profile.mjs`.

const keyOf = (frame) => {
  const file = frame.url ? frame.url.split("/").pop() : "";
  const name = frame.functionName || "(anonymous)";
  return file ? `${name} (${file}:${frame.lineNumber + 1})` : name;
};

export function summarize(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const leaf = nodes.get(id);
    if (leaf.callFrame.functionName === "(idle)") {
      idle += dt;
      return;
    }
    total += dt;
    const leafKey = keyOf(leaf.callFrame);
    self.set(leafKey, (self.get(leafKey) ?? 0) + dt);
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const key = keyOf(nodes.get(n).callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  });
  const top = (map, count) => [...map].sort((a, b) => b[1] - a[1]).slice(0, count).map(([name, t]) => ({ name, pct: (100 * t) / total }));
  /** Share of busy time in frames whose key matches `re` (counted once per sample). */
  const share = (re) => {
    let t = 0;
    profile.samples.forEach((id, i) => {
      for (let n = id; n !== undefined; n = parent.get(n)) {
        if (re.test(keyOf(nodes.get(n).callFrame))) {
          t += profile.timeDeltas[i] ?? 0;
          return;
        }
      }
    });
    return (100 * t) / total;
  };
  return { totalMs: total / 1000, idleMs: idle / 1000, self: (n) => top(self, n), inclusive: (n) => top(inclusive, n), share };
}

export function printSummary(title, s, { selfCount = 25, inclusiveCount = 30, shares = {} } = {}) {
  console.log(`\n== ${title}: ${s.totalMs.toFixed(0)} ms busy (${s.idleMs.toFixed(0)} ms idle)`);
  console.log("-- self time");
  for (const r of s.self(selfCount)) console.log(`${r.pct.toFixed(1).padStart(6)}%  ${r.name}`);
  console.log("-- inclusive time");
  for (const r of s.inclusive(inclusiveCount)) console.log(`${r.pct.toFixed(1).padStart(6)}%  ${r.name}`);
  if (Object.keys(shares).length) {
    console.log("-- shares (inclusive, by what the frames are)");
    for (const [label, re] of Object.entries(shares)) console.log(`${s.share(re).toFixed(1).padStart(6)}%  ${label}`);
  }
}
