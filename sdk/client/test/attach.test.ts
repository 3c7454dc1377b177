import { describe, expect, it } from "vitest";
import { Client, type ProcessEvent } from "../src/index.js";
import { fakeFetch, fakeSockets } from "./fakes.js";

describe("attaching to a process", () => {
  it("turns frames into events, writes stdin, and resolves ended with the exit code", async () => {
    const { sockets, factory } = fakeSockets();
    const { fetch } = fakeFetch(() => Response.json({}));
    const client = new Client({ url: "https://bus.test", webSocket: factory, fetch });
    const attaching = client.process("abc").attach();
    const socket = sockets[0]!;
    expect(socket.url).toBe("wss://bus.test/processes/abc/attach");
    socket.open();
    const attachment = await attaching;
    const outputs: string[] = [];
    attachment.on("output", (e) => outputs.push(`${e.stream}:${e.line}`));
    socket.receive(JSON.stringify({ stream: "stdout", line: "3" }));
    socket.receive(JSON.stringify({ stream: "stderr", line: "oops" }));
    attachment.write("hello\n");
    attachment.write(new Uint8Array([1, 2]));
    attachment.closeStdin();
    expect(socket.sent).toEqual(['{"stdin":"hello\\n"}', new Uint8Array([1, 2]), '{"close_stdin":true}']);
    socket.receive(JSON.stringify({ exit: 0 }));
    expect(await attachment.ended).toEqual({ code: 0 });
    socket.close();
    const events: ProcessEvent[] = [];
    for await (const e of attachment) events.push(e);
    expect(events).toEqual([
      { type: "output", stream: "stdout", line: "3" },
      { type: "output", stream: "stderr", line: "oops" },
      { type: "exit", code: 0 },
    ]);
    expect(outputs).toEqual(["stdout:3", "stderr:oops"]);
  });

  it("an attach that is refused rejects with the route's error", async () => {
    const { sockets, factory } = fakeSockets();
    const { fetch } = fakeFetch(() => Response.json({ error: "no process abc", code: 8, codeName: "InvalidHandle" }, { status: 404 }));
    const attaching = new Client({ url: "http://bus.test", webSocket: factory, fetch }).process("abc").attach();
    sockets[0]!.drop();
    await expect(attaching).rejects.toMatchObject({ codeName: "InvalidHandle", status: 404 });
  });
});
