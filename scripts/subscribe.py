#!/usr/bin/env python3
"""A fovea client in Python: subscribe to detections and status over ZeroMQ.

Needs pyzmq and protobuf (Debian: python3-zmq python3-protobuf protobuf-compiler) and the
generated module:

    protoc -I proto --python_out=build/py proto/fovea/v1/vision.proto
    PYTHONPATH=build/py python3 scripts/subscribe.py tcp://127.0.0.1:5555

With CURVE (a fovea run with --curve-secret): the server's public certificate and this
controller's secret certificate, both made by `fovea keys`:

    PYTHONPATH=build/py python3 scripts/subscribe.py tcp://robot:5555 \\
        --curve-server keys/server.pub --curve-client keys/controller.secret

Prints one JSON line per message. With a count, exits after that many DetectionFrames. A
message that does not decode is skipped and counted on stderr, never fatal.
"""
import argparse
import json
import sys

import zmq
import zmq.auth
from google.protobuf.message import DecodeError
from fovea.v1 import vision_pb2


def main() -> None:
    parser = argparse.ArgumentParser(description="Subscribe to a fovea detection stream")
    parser.add_argument("endpoint", nargs="?", default="tcp://127.0.0.1:5555")
    parser.add_argument("count", nargs="?", type=int, default=0, help="exit after this many DetectionFrames (0: never)")
    parser.add_argument("--curve-server", metavar="FILE", help="the server's public certificate (NAME.pub)")
    parser.add_argument("--curve-client", metavar="FILE", help="this controller's secret certificate (NAME.secret)")
    args = parser.parse_args()
    if bool(args.curve_server) != bool(args.curve_client):
        parser.error("--curve-server and --curve-client go together")

    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 16)  # the newest detections matter, not a backlog
    if args.curve_server:
        server_public, _ = zmq.auth.load_certificate(args.curve_server)
        client_public, client_secret = zmq.auth.load_certificate(args.curve_client)
        if client_secret is None:
            parser.error(f"--curve-client {args.curve_client}: expected a secret certificate (NAME.secret)")
        sock.curve_serverkey = server_public
        sock.curve_publickey = client_public
        sock.curve_secretkey = client_secret
    sock.connect(args.endpoint)
    for topic in (b"detections", b"status"):
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    frames = 0
    skipped = 0
    while args.count == 0 or frames < args.count:
        parts = sock.recv_multipart()
        if len(parts) != 2 or parts[0] not in (b"detections", b"status") or not parts[1]:
            skipped += 1
            print(f"skipped a malformed message ({skipped} so far)", file=sys.stderr, flush=True)
            continue
        topic, payload = parts
        try:
            msg = (vision_pb2.DetectionFrame if topic == b"detections" else vision_pb2.Status).FromString(payload)
        except DecodeError as err:
            skipped += 1
            print(f"skipped an undecodable {topic.decode()} message ({skipped} so far): {err}", file=sys.stderr, flush=True)
            continue
        if topic == b"detections":
            f = msg
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
        else:
            s = msg
            print(json.dumps({
                "topic": "status",
                # A state newer than this script's schema is shown as its number, not fatal.
                "state": vision_pb2.Status.State.Name(s.state) if s.state in vision_pb2.Status.State.values() else s.state,
                "fps": round(s.fps, 2),
                "frames_processed": s.frames_processed,
                "frames_dropped": s.frames_dropped,
                "frames_failed": s.frames_failed,
                "model_id": s.model_id,
                "last_error": s.last_error,
            }), flush=True)


if __name__ == "__main__":
    main()
