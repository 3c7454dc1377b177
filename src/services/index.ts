import { echo } from "./echo/index.js";
import { http } from "./http/index.js";
import { kv } from "./kv/index.js";
import { logService } from "./log/index.js";
import { processService } from "./process/index.js";
import type { Service } from "./service.js";
import { time } from "./time/index.js";
import { ws } from "./ws/index.js";

/** The host's built-in services, all under wapm `os`, as one service: each topic served by the one that declares it. */
export function builtinServices(): Service {
  const byTopic = new Map<string, Service>();
  for (const service of [time, http, logService, echo, ws, processService, kv]) {
    for (const topic of Object.keys(service.topics)) byTopic.set(topic, service);
  }
  return {
    topics: Object.fromEntries([...byTopic].map(([topic, service]) => [topic, service.topics[topic]!])),
    borrows: true,
    serve: (call, ctx) => {
      const service = byTopic.get(call.topic)!;
      if (call.lent && !service.borrows) call.own();
      service.serve(call, ctx);
    },
  };
}
