// The README's TypeScript controller, verbatim but for the import path and the endpoint (argv).
import { subscribeVision } from "../../../src/publish/subscriber.js";

// A message that is not valid fovea protobuf is skipped and counted (sub.counters), never
// thrown: the loop ends only when the subscription is closed.
const sub = subscribeVision(process.argv[2], {
  onSkip: (s) => console.error(`skipped ${s.reason} ${s.topic} message: ${s.error}`),
});
for await (const msg of sub) {
  if (msg.topic === "detections") {
    // seq and the *_time_ns fields are bigint: uint64 on the wire, exact.
    for (const d of msg.frame.detections) console.log(`frame ${msg.frame.seq} ${d.label} ${d.confidence}`, d.ground ?? "");
  } else if (msg.status.state !== "RUNNING") {
    console.log(msg.status.state, msg.status.lastError);
  }
}
