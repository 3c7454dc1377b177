// The floor of the wasm-bus ABI in V8: a host that implements just what the
// bench-echo guest uses (handle, call to os echo.echo, listen, reply, fault),
// with the ABI's rules kept (bounds checks, the request copied during `call`,
// results queued and delivered after the guest returns, through
// wasm_bus_malloc + wasm_bus_finish) and nothing else: no BusCall, no
// services, no handle table beyond a counter, no limits, no transcoding.
// The round trip on it is what the ABI costs; the runtime's round trip minus
// this is what its generality costs.

export function minimalHost(module) {
  let memory;
  let view = new Uint8Array(0);
  const bytes = () => (view.length === 0 || view.buffer !== memory.buffer ? (view = new Uint8Array(memory.buffer)) : view);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let strings = new Map(); // (ptr, len) of the guest's constant strings -> text, checked against memory
  const readString = (ptr, len) => {
    const m = bytes();
    if (ptr + len > m.length) throw new RangeError("InvalidPointer");
    const key = ptr * 65536 + len;
    const hit = strings.get(key);
    if (hit !== undefined && hit.bytes.every((b, i) => m[ptr + i] === b)) return hit.text;
    const text = decoder.decode(m.subarray(ptr, ptr + len));
    strings.set(key, { text, bytes: m.slice(ptr, ptr + len) });
    return text;
  };
  let nextHandle = 1;
  const queue = [];
  let scheduled = false;
  let onReply;
  let exports;
  const drain = () => {
    scheduled = false;
    while (queue.length) {
      const { handle, format, data } = queue.shift();
      const ptr = exports.wasm_bus_malloc(data.length) >>> 0;
      const m = bytes();
      if (ptr === 0 || ptr + data.length > m.length) throw new Error("MemoryAllocationFailed");
      m.set(data, ptr);
      exports.wasm_bus_finish(handle, format, ptr, data.length);
    }
  };
  const imports = {
    "wasm-bus": {
      handle: () => nextHandle++,
      listen: () => 0,
      call(parent, handle, keepalive, format, wapmPtr, wapmLen, topicPtr, topicLen, reqPtr, reqLen) {
        if (readString(wapmPtr, wapmLen) !== "os" || readString(topicPtr, topicLen) !== "echo.echo") return 9;
        const m = bytes();
        if (reqPtr + reqLen > m.length) return 22;
        queue.push({ handle, format, data: m.slice(reqPtr, reqPtr + reqLen) }); // echo: the reply is the request
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(drain);
        }
        return 0;
      },
      reply(handle, format, ptr, len) {
        onReply({ format, data: bytes().slice(ptr, ptr + len) });
        return 0;
      },
      fault(handle, code) {
        onReply(Promise.reject(new Error(`fault ${code}`)));
        return 0;
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  exports = instance.exports;
  memory = exports.memory;
  exports._initialize?.();
  const topic = new TextEncoder().encode("bench");
  return {
    /** One inbound "bench" call: [n][payload]; resolves with the guest's reply. */
    call(format, data) {
      return new Promise((resolve) => {
        onReply = resolve;
        const ptr = exports.wasm_bus_malloc(topic.length + data.length);
        const m = bytes();
        m.set(topic, ptr);
        m.set(data, ptr + topic.length);
        exports.wasm_bus_start(0, nextHandle++, format, ptr, topic.length, ptr + topic.length, data.length);
        drain();
      });
    },
  };
}
