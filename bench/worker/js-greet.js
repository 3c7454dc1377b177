// The greeting of modules/hello written in plain JavaScript, as a Worker of its own: no
// framework, no bus, no Wasm. The CPU section (bench/sections/cpu.mjs) serves it from the
// same workerd as the bench Worker and holds POST /call/hello/greet against it.
export default {
  async fetch(request) {
    if (request.method !== "POST" || new URL(request.url).pathname !== "/greet") return new Response("not found", { status: 404 });
    let name;
    try {
      name = (await request.json())?.name;
    } catch {
      name = undefined;
    }
    if (typeof name !== "string") return Response.json({ error: "greet wants {\"name\": string}", code: 12, codeName: "BadRequest" }, { status: 400 });
    return Response.json({ message: `Hello, ${name}!` });
  },
};
