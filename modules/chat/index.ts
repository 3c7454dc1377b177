// chat: a room over the bus, served over GET /bus/chat (one shared instance per module).
//
//   join {"name": "Ada"}      called with keepalive; replies {"joined": "Ada", "members": n} at once
//                             and keeps the call: while it lives, every post in the room reaches its
//                             caller as the callback "message" {"from": ..., "text": ...}.
//   post {"text": "hi"}       called with parent = the caller's join call (wasm_bus_start's parent is
//                             the kept join handle, which names the poster); replies {"delivered": n},
//                             n = members the message reached, the poster included.
//                             A post without a parent faults with BadRequest (12), one under a join
//                             that has ended with NotFound (25): the SDK's answers for a sub-API's
//                             method (listenUnder), which the host's own checks of the parent mostly
//                             leave nothing to.
//   dropping the join call    (wasm_bus_drop on its handle) leaves the room.
//
// A join whose caller did not keep the call alive is answered but never becomes a member: keepAlive()
// asks the host (`kept`), and the reply then ends the request, as the host ends the call.
import { Code, listenUnder, listenWith, log, Payload, Request, Server, Value } from "../../sdk/assemblyscript/assembly";
export * from "../../sdk/assemblyscript/assembly/exports";

class Member {
  constructor(public req: Request, public name: string) {}
}

/** Members in join order. */
let members: Array<Member> = [];

function memberOf(req: Request | null): Member | null {
  if (req == null) return null;
  for (let i = 0; i < members.length; i++) {
    if (members[i].req === req) return members[i];
  }
  return null;
}

function leave(req: Request): void {
  const kept: Array<Member> = [];
  for (let i = 0; i < members.length; i++) {
    if (members[i].req !== req) kept.push(members[i]);
  }
  members = kept;
}

class Join extends Server {
  onRequest(req: Request): void {
    const body = req.value();
    const name = body != null ? body.getString("name") : null;
    if (name == null) {
      req.fault(Code.BadRequest, "join wants {\"name\": string}");
      return;
    }
    req.keepAlive();
    req.reply(Value.object().setString("joined", name).setInt("members", members.length + 1));
    // A reply the host refused faulted the request (and ended it): no member then.
    if (req.ended) return;
    members.push(new Member(req, name));
  }

  /** The caller dropped its join (or went away): it leaves the room. */
  onDrop(req: Request): void {
    leave(req);
  }
}

function post(req: Request): void {
  // listenUnder let only a post under a live request of this module through: a join, the one
  // topic kept alive, so a member; but the type does not know that.
  const member = memberOf(req.parentRequest());
  if (member == null) {
    req.fault(Code.BadRequest, "post needs a live join of this room as its parent");
    return;
  }
  const body = req.value();
  const text = body != null ? body.getString("text") : null;
  if (text == null) {
    req.fault(Code.BadRequest, "post wants {\"text\": string}");
    return;
  }
  // Encoded once for every member, not once per member (a 4 KB text was most of a post's cost):
  // join is a json topic, so each member's join came as JSON whatever its caller sent, and the
  // host gives each caller this callback back in its own format.
  const message = Payload.json(Value.object().setString("from", member.name).setString("text", text));
  let delivered: i64 = 0;
  // Members whose callback the host refused (a client too far behind: LimitExceeded): one line per
  // post says how many, where a line each would log a room's size for every post to slow readers.
  let missed: i32 = 0;
  let firstMissed = "";
  let missedCode: u32 = 0;
  // A copy: a member whose join has ended is removed while we go.
  const all = members.slice(0);
  for (let i = 0; i < all.length; i++) {
    const m = all[i];
    const status = m.req.callbackWith("message", message.format, message.data);
    if (status == Code.Success) {
      delivered++;
    } else if (status == Code.InvalidHandle) {
      // Its join is over without a drop reaching us (a caller that did not keep it alive).
      leave(m.req);
      if (!m.req.ended) m.req.fault(Code.Aborted);
    } else {
      if (missed == 0) {
        firstMissed = m.name;
        missedCode = status;
      }
      missed++;
    }
  }
  if (missed > 0) {
    log.warn("message from " + member.name + " not delivered to " + missed.toString() + " member(s), " + firstMissed + " the first: code " + missedCode.toString());
  }
  req.reply(Value.object().setInt("delivered", delivered));
}

listenWith("join", new Join());
listenUnder("post", post);
