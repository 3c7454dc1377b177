import { BusError } from "./errors.js";
import type { Instances } from "./instances.js";
import { Guest } from "./instance/guest.js";
import type { LoadedModule } from "./registry.js";
import type { Service } from "./services/service.js";

/** A module as a service: each call reaches an instance, within the module's call timeout. */
export function moduleService(module: LoadedModule, instances: Instances): Service {
  const timeout = module.manifest.limits.callTimeoutMs;
  return {
    topics: module.manifest.topics,
    serve(call) {
      // Later calls on a relative object go to the instance that made it; a module with a
      // pinned instance (a process, a session, a shared module) is served by that one.
      const owner = call.parent?.server ?? instances.pinned(module.name);
      if (owner instanceof Guest) return owner.accept(call);
      const timer = setTimeout(() => call.fault(BusError.of("Timeout", `module ${module.name} did not answer ${call.topic} within ${timeout} ms`)), timeout);
      call.onAnswer(() => clearTimeout(timer));
      try {
        instances.serve(module, call);
      } catch (err) {
        call.fault(BusError.from(err));
      }
    },
  };
}
