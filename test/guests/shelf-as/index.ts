// shelf-as: a sub-API in the AssemblyScript SDK. `shelf.open` keeps its request alive (the shelf);
// `shelf.peek` is served only under it (listenUnder), so a peek without a parent is the caller's
// mistake, and the SDK faults it with BadRequest before the handler runs.
import { listen, listenUnder, Request, Value } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

listen("shelf.open", (req: Request): void => {
  req.keepAlive().reply(Value.null());
});

listenUnder("shelf.peek", (req: Request): void => {
  req.reply(Value.object().setBool("underShelf", req.parentRequest() !== null));
});
