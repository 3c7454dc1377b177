// kv-probe under another name, allowed to fetch from 127.0.0.1 and with a small responseBytes,
// so the http.fetch fuzzer reaches the limit with small bodies.
export * from "../kv-probe/index";
