// kv-probe under another name, with small kv limits: its keys are not kv-probe's.
export * from "../kv-probe/index";
