/// <reference types="node" />
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Code fences in the repository's Markdown, as CommonMark reads them: a closing fence is the
 * fence alone (spaces after it at most), and a backtick fence's info string holds no backtick. A
 * line like "``` A request that is ..." neither closes nor opens: the code block runs on, and the
 * prose after it (up to the next bare fence) is shown as code.
 */
function badFences(text: string): string[] {
  const bad: string[] = [];
  let open: string | undefined;
  text.split("\n").forEach((line, i) => {
    const fence = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!fence) return;
    const [, run, rest] = fence as unknown as [string, string, string];
    if (open === undefined) {
      if (run[0] === "`" && rest.includes("`")) bad.push(`line ${i + 1}: not a fence (a backtick after it): ${line}`);
      else open = run;
    } else if (run[0] === open[0] && run.length >= open.length) {
      if (rest.trim() === "") open = undefined;
      else bad.push(`line ${i + 1}: does not close the code block opened before it (text after the fence): ${line}`);
    }
  });
  if (open !== undefined) bad.push("a code block is never closed");
  return bad;
}

/** The repository's own Markdown: not what tools install or build. */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith(".") || ["node_modules", "build", "target", "dist"].includes(e.name)) return [];
    const path = dir === "." ? e.name : join(dir, e.name);
    if (e.isDirectory()) return markdownFiles(path);
    return e.isFile() && e.name.endsWith(".md") ? [path] : [];
  });
}

describe("Markdown code fences", () => {
  it("finds a fence with text after it", () => {
    expect(badFences("```rust\nlet x = 1;\n``` Then prose.\nmore\n```\n")).toHaveLength(1);
    expect(badFences("```rust\nlet x = 1;\n```\nThen prose.\n")).toEqual([]);
  });

  const files = markdownFiles(".");
  it.each(files)("%s: every code block closes where it is meant to", (file) => {
    expect(badFences(readFileSync(file, "utf8"))).toEqual([]);
  });
});
