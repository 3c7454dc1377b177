import { BusError } from "./errors.js";
import type { ModuleInstances } from "./instances.js";
import { Guest } from "./instance/guest.js";
import type { Service } from "./services/service.js";

/** A module as a service: each call reaches an instance, within the module's call timeout. */
export function moduleService(here: ModuleInstances): Service {
  const module = here.module;
  const timeout = module.manifest.limits.callTimeoutMs;
  return {
    topics: module.manifest.topics,
    // An instance that takes the call at once copies the request into its memory then and there;
    // one that queues it owns it first (Guest.accept, Pool.serve).
    borrows: true,
    serve(call) {
      // A parent that has ended has no sub-API left, and nothing would end a call made under it.
      if (call.parent?.ended) return void call.fault(BusError.of("InvalidHandle", `the parent call to ${module.name} has ended`));
      // Later calls on a relative object go to the instance that made it; a module with a
      // pinned instance (a process, a session, a shared module) is served by that one.
      const parent = call.parent?.server;
      // A parent names a call of this module's: one another module serves is not its sub-API.
      if (parent instanceof Guest && parent.module !== module) {
        return void call.fault(BusError.of("InvalidHandle", `the parent call is served by module ${parent.module.name}, not ${module.name}`));
      }
      const owner = parent ?? here.pinned;
      if (owner instanceof Guest) return owner.accept(call);
      try {
        here.serve(call);
      } catch (err) {
        call.fault(BusError.from(err));
      }
      // A call answered already (an instance took it at once, inside the caller's call_now) needs no timer.
      if (call.answered) return;
      const timer = setTimeout(() => call.fault(BusError.of("Timeout", `module ${module.name} did not answer ${call.topic} within ${timeout} ms`)), timeout);
      call.onAnswer(() => clearTimeout(timer));
    },
  };
}
