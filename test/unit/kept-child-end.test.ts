// A call made under another ends with it (docs/abi.md, `call`), and its caller hears that end
// once, whatever the caller is (a guest, a WebSocket client, another object): through its sink,
// as a failure, Aborted, answered and kept alive or not. An answered one once told its sink
// nothing, so a WebSocket client's kept-alive call under a join it dropped (or the server ended)
// stayed live at the client for good, its `ended` never settling.
import { describe, expect, it } from "vitest";
import { Format } from "../../src/abi.js";
import { BusCall, type CallSink } from "../../src/call.js";
import { BusError } from "../../src/errors.js";

/** A sink that writes down what it hears. */
function heard(log: string[], name: string): CallSink {
  return {
    finish: () => void log.push(`${name} reply`),
    fail: (err) => void log.push(`${name} ${err.codeName}`),
    callback: () => 0,
  };
}

const req = { format: Format.Raw, data: new Uint8Array() };
const make = (log: string[], name: string, parent?: BusCall) => new BusCall("m", name, req, heard(log, name), { parent, keepalive: true });

describe("kept-alive calls under a kept-alive call that ends", () => {
  it.each([
    ["the caller drops it", (p: BusCall) => p.drop()],
    ["the server ends it", (p: BusCall) => void p.fault(BusError.of("Aborted", "the server dropped the call"))],
  ])("%s: a child and a grandchild, answered or not, each hear Aborted once", (_, end) => {
    const log: string[] = [];
    const parent = make(log, "parent");
    parent.reply(req);
    const child = make(log, "child", parent);
    child.reply(req);
    const grandchild = make(log, "grandchild", child);
    grandchild.reply(req);
    const pending = make(log, "pending", child);
    log.length = 0;
    end(parent);
    expect(log.filter((l) => !l.startsWith("parent"))).toEqual(["grandchild Aborted", "pending Aborted", "child Aborted"]);
    expect([child, grandchild, pending].every((c) => c.ended)).toBe(true);
    // Ended: nothing more reaches their callers.
    for (const c of [child, grandchild, pending]) c.fault(BusError.of("Unknown", "late"));
    expect(log.filter((l) => !l.startsWith("parent"))).toHaveLength(3);
  });
});
