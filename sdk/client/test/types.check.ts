// Compile-time checks of the generated table: every `@ts-expect-error` line must be an error, or
// tsc fails ("unused @ts-expect-error"). Checked by `npx tsc -p sdk/client` and, through
// test/node/client-types.test.ts, by the root `npm run typecheck`. Nothing here runs.
import { BusError, Client, modules } from "../src/index.js";

const client = new Client({ url: "http://127.0.0.1:8787", modules });

export async function typedCalls() {
  const hello = client.module("hello");
  const greeting: { message: string } = await hello.greet({ name: "Ada" });
  greeting.message.toUpperCase();

  // @ts-expect-error a misspelled topic
  await hello.greeet({ name: "Ada" });
  // @ts-expect-error a misspelled field
  await hello.greet({ nmae: "Ada" });
  // @ts-expect-error a field of the wrong type
  await hello.greet({ name: 5 });
  // @ts-expect-error a missing field
  await hello.greet({});
  // @ts-expect-error a module the table does not have
  client.module("helo");
  // @ts-expect-error the reply's fields are typed too
  greeting.mesage;

  // Dotted topics, 64-bit integers (number or bigint), options (optional and nullable).
  const total = await client.module("counter-rs")["tally.add"]({ n: 2n });
  total satisfies number | bigint;
  await client.module("greeter-rs").relay({ name: "Ada" });
  await client.module("greeter-rs").relay({ name: "Ada", to: null });
  // @ts-expect-error an option holds its type or null
  await client.module("greeter-rs").relay({ name: "Ada", to: 1 });

  // call(): a module of the table is typed, any other takes anything.
  await client.call("hello", "greet", { name: "Ada" }, { format: "msgpack" });
  // @ts-expect-error a misspelled topic of a known module
  await client.call("hello", "greeet", { name: "Ada" });
  await client.call("not-in-the-table", "anything", { whatever: [1, 2] });
}

export async function typedSessions() {
  const chat = client.session("chat", "room-1");
  const join = chat.call("join", { name: "ada" }, { keepalive: true, on: { message: (m) => m.text.toUpperCase() } });
  (await join.reply).members satisfies number;
  // @ts-expect-error a misspelled callback
  chat.call("join", { name: "ada" }, { keepalive: true, on: { mesage: () => {} } });
  // @ts-expect-error a misspelled topic
  chat.call("jion", { name: "ada" });
  join.call("post", { text: "hi" });
  // @ts-expect-error a sub-call's request is typed by its topic
  join.call("post", { txt: "hi" });
  for await (const message of join.callbacks("message")) message.from satisfies string;
  // @ts-expect-error callbacks by name are typed
  join.callbacks("mesage");
  join.drop();
  await chat.close();
}

export function typedErrors(err: unknown) {
  if (err instanceof BusError && err.is("InvalidTopic")) return err.code;
  // @ts-expect-error code names are the ABI's
  if (err instanceof BusError && err.is("NoSuchThing")) return 0;
  return undefined;
}
