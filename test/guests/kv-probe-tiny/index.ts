// kv-probe under another name, with tiny kv limits, so the kv fuzzer reaches every one of them.
export * from "../kv-probe/index";
