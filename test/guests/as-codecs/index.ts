// as-codecs: the AssemblyScript SDK's JSON and MessagePack codecs behind raw topics, for
// test/as-codecs.test.ts. A codec that refuses its input is answered BadRequest, never a trap.
import {
  Code, decodeJson, decodeMsgpack, encodeJson, encodeMsgpack, Format, Kind, listen, parseJson, Request, stringifyJson, utf8Bytes, Value,
} from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/exports";

function refuse(req: Request, what: string): void {
  req.fault(Code.BadRequest, "not " + what + " (" + req.data.length.toString() + " bytes)");
}

listen("json", (req: Request): void => {
  const v = decodeJson(req.data);
  if (v == null) return refuse(req, "json");
  req.replyWith(Format.Raw, encodeJson(v));
});

listen("msgpack", (req: Request): void => {
  const v = decodeMsgpack(req.data);
  if (v == null) return refuse(req, "msgpack");
  req.replyWith(Format.Raw, encodeMsgpack(v));
});

listen("json-to-msgpack", (req: Request): void => {
  const v = decodeJson(req.data);
  if (v == null) return refuse(req, "json");
  req.replyWith(Format.Raw, encodeMsgpack(v));
});

listen("msgpack-to-json", (req: Request): void => {
  const v = decodeMsgpack(req.data);
  if (v == null) return refuse(req, "msgpack");
  req.replyWith(Format.Raw, encodeJson(v));
});

listen("json-text", (req: Request): void => {
  const v = parseJson(req.text());
  if (v == null) return refuse(req, "json");
  req.replyWith(Format.Raw, utf8Bytes(stringifyJson(v)));
});

/** The kinds of a Value, as text: what the decoder made of each number. */
function kinds(v: Value): string {
  switch (v.kind) {
    case Kind.Null: return "null";
    case Kind.Bool: return "bool";
    case Kind.Int: return "int";
    case Kind.Float: return v.isBigUint() ? "biguint" : "float";
    case Kind.String: return "str";
    case Kind.Bytes: return "bytes";
    case Kind.Array: {
      const parts = new Array<string>();
      for (let i = 0; i < v.length; i++) parts.push(kinds(v.at(i)!));
      return "[" + parts.join(",") + "]";
    }
    default: {
      const parts = new Array<string>();
      for (let i = 0; i < v.length; i++) parts.push(v.keyAt(i) + ":" + kinds(v.at(i)!));
      return "{" + parts.join(",") + "}";
    }
  }
}

listen("kinds-json", (req: Request): void => {
  const v = decodeJson(req.data);
  if (v == null) return refuse(req, "json");
  req.replyWith(Format.Raw, utf8Bytes(kinds(v)));
});

listen("kinds-msgpack", (req: Request): void => {
  const v = decodeMsgpack(req.data);
  if (v == null) return refuse(req, "msgpack");
  req.replyWith(Format.Raw, utf8Bytes(kinds(v)));
});

// Value.asUint and Value.uint: "<asUint of the JSON number> <Value.uint of that, as JSON>".
listen("as-uint", (req: Request): void => {
  const v = decodeJson(req.data);
  if (v == null) return refuse(req, "json");
  const u = v.asUint();
  req.replyWith(Format.Raw, utf8Bytes(u.toString() + " " + stringifyJson(Value.uint(u))));
});
