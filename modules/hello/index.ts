// hello: topic "greet", JSON. {"name":"Ada"} -> {"message":"Hello, Ada!"}
import { Code, listen, Request, Value } from "../../sdk/assemblyscript/assembly";
export * from "../../sdk/assemblyscript/assembly/exports";

function greet(req: Request): void {
  const body = req.value();
  const name = body != null ? body.getString("name") : null;
  if (name == null) {
    // Not JSON, not an object, or no string "name": the caller's mistake.
    req.fault(Code.BadRequest, "greet wants {\"name\": string}");
    return;
  }
  req.reply(Value.object().setString("message", "Hello, " + name + "!"));
}

listen("greet", greet);
