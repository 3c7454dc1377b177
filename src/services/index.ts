import type { LogSink } from "../log.js";
import { echo } from "./echo/index.js";
import { http } from "./http/index.js";
import { logService } from "./log/index.js";
import { processService } from "./process/index.js";
import type { Service } from "./service.js";
import { time } from "./time/index.js";
import { ws } from "./ws/index.js";

/** The host's built-in services, all under wapm `os`, keyed by topic. */
export function builtinServices(sink: () => LogSink): Map<string, Service> {
  const byTopic = new Map<string, Service>();
  for (const service of [time, http, logService(sink), echo, ws, processService]) {
    for (const topic of Object.keys(service.topics)) byTopic.set(topic, service);
  }
  return byTopic;
}
