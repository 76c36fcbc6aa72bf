#!/usr/bin/env python3
"""A fovea client in Python: subscribe to detections and status over ZeroMQ.

Needs pyzmq and protobuf (Debian: python3-zmq python3-protobuf protobuf-compiler) and the
generated module:

    protoc -I proto --python_out=build/py proto/fovea/v1/vision.proto
    PYTHONPATH=build/py python3 scripts/subscribe.py tcp://127.0.0.1:5555

Prints one JSON line per message. With a count, exits after that many DetectionFrames.
"""
import json
import sys

import zmq
from fovea.v1 import vision_pb2


def main() -> None:
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5555"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 16)  # the newest detections matter, not a backlog
    sock.connect(endpoint)
    for topic in (b"detections", b"status"):
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    frames = 0
    while count == 0 or frames < count:
        topic, payload = sock.recv_multipart()
        if topic == b"detections":
            f = vision_pb2.DetectionFrame.FromString(payload)
            frames += 1
            print(json.dumps({
                "topic": "detections",
                "seq": f.seq,
                "camera_id": f.camera_id,
                "model_id": f.model_id,
                "size": [f.image_width, f.image_height],
                "latency_ms": (f.publish_time_ns - f.capture_time_ns) / 1e6,
                "inference_us": f.timings.inference_us,
                "detections": [
                    {
                        "label": d.label,
                        "confidence": round(d.confidence, 4),
                        "box": [d.box.x_min, d.box.y_min, d.box.x_max, d.box.y_max],
                        **({"ground": [d.ground.x, d.ground.y]} if d.HasField("ground") else {}),
                    }
                    for d in f.detections
                ],
            }), flush=True)
        elif topic == b"status":
            s = vision_pb2.Status.FromString(payload)
            print(json.dumps({
                "topic": "status",
                "state": vision_pb2.Status.State.Name(s.state),
                "fps": round(s.fps, 2),
                "frames_processed": s.frames_processed,
                "frames_dropped": s.frames_dropped,
                "frames_failed": s.frames_failed,
                "model_id": s.model_id,
            }), flush=True)


if __name__ == "__main__":
    main()
