import { BusError, unwrap } from "./errors.js";
import type { StoreObject } from "./objects.js";
import type { KvStorage, KvStore } from "./services/kv/types.js";

/**
 * Storage for plain calls: each module's keys in its own BusStore Durable Object
 * (`idFromName(module)`), reached through RPC, so every isolate sees the same keys and one
 * object orders every write to them.
 */
export function storeObjects(namespace: () => DurableObjectNamespace<StoreObject> | undefined): KvStorage {
  const stores = new Map<string, KvStore>();
  return {
    open(module) {
      let store = stores.get(module);
      if (store) return store;
      // A stub per operation: one made for another request's call is not this request's to use
      // (workerd: "Cannot perform I/O on behalf of a different request"), and making one is cheap.
      const object = (): DurableObjectStub<StoreObject> => {
        const ns = namespace();
        if (!ns) throw BusError.of("Unsupported", "this Worker has no STORES binding: kv.* needs one (wrangler.toml)");
        return ns.get(ns.idFromName(module));
      };
      store = {
        read: async (key) => unwrap(await object().read(module, key)),
        put: async (key, value, limits) => unwrap(await object().put(module, key, value, limits)),
        delete: async (key) => unwrap(await object().delete(module, key)),
        list: async (prefix, limit, after) => unwrap(await object().list(module, prefix, limit, after)),
        cas: async (key, version, value, limits) => unwrap(await object().cas(module, key, version, value, limits)),
      };
      stores.set(module, store);
      return store;
    },
  };
}
