#!/usr/bin/python3
"""Peer runtimes for `fovea bench --peers`: the same ONNX model in OpenCV DNN and PyTorch.

Run with Debian's interpreter (/usr/bin/python3), which has python3-opencv, python3-torch and
python3-onnx; a peer whose module is absent is reported as skipped with the reason, never fatal.

  /usr/bin/python3 scripts/peers.py --model models/default/model.onnx [--input x.f32] \
      [--runs 500] [--warmup 50] [--threads 2] [--max-seconds 120]

Prints one JSON object on stdout: per peer p50/p90/p99/mean in ms over --runs batch-1 runs after
--warmup runs, plus how far the peers' outputs are apart (they must compute the same network).

There is no onnx2torch here, so the PyTorch peer is built by walking the ONNX graph: each node
becomes the matching torch op over the graph's initializers (held as module buffers), and the
result is traced with torch.jit so PyTorch runs a compiled graph rather than this interpreter.
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np


def fail(where, problem):
    print(f"peers.py: {where}: {problem}", file=sys.stderr)
    sys.exit(2)


def percentiles(samples_ns):
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    return {
        "p50Ms": float(np.percentile(ms, 50)),
        "p90Ms": float(np.percentile(ms, 90)),
        "p99Ms": float(np.percentile(ms, 99)),
        "meanMs": float(ms.mean()),
        "maxMs": float(ms.max()),
    }


def time_runs(fn, runs, warmup, max_seconds):
    """Warm-up calls (at most a tenth of the budget), then up to `runs` timed calls within it."""
    start = time.perf_counter()
    warmed = 0
    while warmed < warmup and time.perf_counter() - start < max_seconds / 10:
        fn()
        warmed += 1
    samples = []
    deadline = time.perf_counter() + max_seconds
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
        if time.perf_counter() > deadline:
            break
    return {"warmupRuns": warmed, "measuredRuns": len(samples), **percentiles(samples)}


# ---------------------------------------------------------------------------------------------
# Model input
# ---------------------------------------------------------------------------------------------

def graph_input(model):
    """Name and batch-1 shape of the graph's data input (the one that is not an initializer)."""
    init_names = {t.name for t in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in init_names:
            continue
        dims = []
        for i, d in enumerate(inp.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(d.dim_value)
            elif i == 0:
                dims.append(1)  # symbolic batch dimension
            else:
                fail(inp.name, f"dimension {i} is symbolic ({d.dim_param!r}); expected a fixed size")
        return inp.name, dims
    fail("model", "graph has no data input")


def load_input(path, shape):
    n = int(np.prod(shape))
    if path is None:
        return np.random.default_rng(7).random(n, dtype=np.float32).reshape(shape)
    data = np.fromfile(path, dtype="<f4")
    if data.size != n:
        fail(path, f"expected {n} float32 values for input shape {shape}, got {data.size}")
    return data.reshape(shape)


# ---------------------------------------------------------------------------------------------
# OpenCV DNN
# ---------------------------------------------------------------------------------------------

def opencv_compatible(model):
    """The same network in the forms OpenCV 4.6 can import.

    Float16 initializers that feed a Cast are replaced by the cast's float32 result: OpenCV 4.6
    cannot read FLOAT16 tensors, and widening the stored weights once is exactly what the graph's
    own Cast nodes do on every run, so the network computed is the same. Returns the serialized
    model and how many initializers were widened.
    """
    import onnx
    from onnx import numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {t.name: t for t in m.graph.initializer}
    keep, widened = [], 0
    for n in m.graph.node:
        to = next((a.i for a in n.attribute if a.name == "to"), None)
        if n.op_type == "Cast" and n.input[0] in inits and to == onnx.TensorProto.FLOAT:
            arr = numpy_helper.to_array(inits[n.input[0]]).astype(np.float32)
            m.graph.initializer.append(numpy_helper.from_array(arr, n.output[0]))
            widened += 1
        else:
            keep.append(n)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    # OpenCV 4.6 reads Gemm weights only in the [out, in] layout with transB=1 (what PyTorch
    # exports); a [in, out] weight with transB=0 (tfjs' Dense kernel layout) trips its importer.
    # Transposing the stored weight and flipping transB computes the same product.
    inits = {t.name: t for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type != "Gemm" or n.input[1] not in inits:
            continue
        trans_b = next((a for a in n.attribute if a.name == "transB"), None)
        if trans_b is not None and trans_b.i == 1:
            continue
        w = numpy_helper.to_array(inits[n.input[1]])
        name = n.input[1] + ".T"
        m.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w.T), name))
        n.input[1] = name
        if trans_b is None:
            n.attribute.append(onnx.helper.make_attribute("transB", 1))
        else:
            trans_b.i = 1
    used = {i for n in m.graph.node for i in n.input}
    still = [t for t in m.graph.initializer if t.name in used]
    del m.graph.initializer[:]
    m.graph.initializer.extend(still)
    return m.SerializeToString(), widened


def bench_opencv(model, x, runs, warmup, threads, max_seconds):
    try:
        import cv2
    except ImportError as e:
        return {"name": "opencv-dnn", "available": False, "reason": f"python module cv2 not importable ({e}); apt-get install python3-opencv"}, None
    cv2.setNumThreads(threads)
    buffer, widened = opencv_compatible(model)
    try:
        net = cv2.dnn.readNetFromONNX(np.frombuffer(buffer, dtype=np.uint8))
    except cv2.error as e:
        return {"name": "opencv-dnn", "version": cv2.__version__, "available": False, "reason": f"readNetFromONNX failed: {str(e).strip()[:300]}"}, None
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    out_names = net.getUnconnectedOutLayersNames()

    def run():
        # setInput is part of the inference call in OpenCV's API (it copies the blob in).
        net.setInput(x)
        return net.forward(out_names)

    try:
        outputs = run()
    except cv2.error as e:
        return {"name": "opencv-dnn", "version": cv2.__version__, "available": False, "reason": f"forward failed: {str(e).strip()[:300]}"}, None
    stats = time_runs(run, runs, warmup, max_seconds)
    note = f"{widened} float16 weight tensors widened to float32 at load (OpenCV 4.6 reads no FLOAT16)" if widened else None
    return {"name": "opencv-dnn", "version": cv2.__version__, "available": True, "threads": threads, **({"note": note} if note else {}), **stats}, dict(zip(out_names, [np.asarray(o) for o in outputs]))


# ---------------------------------------------------------------------------------------------
# PyTorch: the ONNX graph rebuilt as a torch.nn.Module
# ---------------------------------------------------------------------------------------------

def build_torch_module(model):
    import torch
    import torch.nn.functional as F
    from onnx import helper, numpy_helper

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    graph = model.graph

    def attrs(node):
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def ints(v):
        return [int(i) for i in v.tolist()] if hasattr(v, "tolist") else [int(i) for i in v]

    def pad_input(x, pads):
        """ONNX pads are [begin..., end...]; symmetric ones go to the op, others to F.pad."""
        n = len(pads) // 2
        begin, end = pads[:n], pads[n:]
        if begin == end:
            return x, begin
        fpad = []
        for b, e in zip(reversed(begin), reversed(end)):
            fpad += [b, e]
        return F.pad(x, fpad), [0] * n

    def coerce_2d(x, axis):
        axis = axis % x.dim()
        return x.reshape(int(np.prod(x.shape[:axis])) if axis else 1, -1)

    def softmax_like(fn, x, a):
        axis = a.get("axis", -1 if opset >= 13 else 1)
        if opset >= 13:
            return fn(x, dim=axis)
        return fn(coerce_2d(x, axis), dim=1).reshape(x.shape)

    def op_conv(x, w, b=None, **a):
        x, pads = pad_input(x, ints(a.get("pads", [0] * (2 * (w.dim() - 2)))))
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            raise NotImplementedError(f"Conv auto_pad={a['auto_pad']}")
        return F.conv2d(x, w, b, stride=ints(a.get("strides", [1, 1])), padding=pads,
                        dilation=ints(a.get("dilations", [1, 1])), groups=int(a.get("group", 1)))

    def op_maxpool(x, **a):
        k = ints(a["kernel_shape"])
        x, pads = pad_input(x, ints(a.get("pads", [0] * (2 * len(k)))))
        return F.max_pool2d(x, k, stride=ints(a.get("strides", k)), padding=pads, ceil_mode=bool(a.get("ceil_mode", 0)))

    def op_avgpool(x, **a):
        k = ints(a["kernel_shape"])
        x, pads = pad_input(x, ints(a.get("pads", [0] * (2 * len(k)))))
        return F.avg_pool2d(x, k, stride=ints(a.get("strides", k)), padding=pads, ceil_mode=bool(a.get("ceil_mode", 0)),
                            count_include_pad=bool(a.get("count_include_pad", 0)))

    def op_gemm(a_, b_, c=None, **a):
        if a.get("transA", 0):
            a_ = a_.t()
        if a.get("transB", 0):
            b_ = b_.t()
        y = float(a.get("alpha", 1.0)) * (a_ @ b_)
        return y if c is None else y + float(a.get("beta", 1.0)) * c

    def op_reshape(x, shape, **a):
        shape = ints(shape)
        shape = [x.shape[i] if (s == 0 and not a.get("allowzero", 0)) else s for i, s in enumerate(shape)]
        return x.reshape(shape)

    def op_flatten(x, **a):
        return coerce_2d(x, int(a.get("axis", 1)))

    def axes_of(a, extra):
        if "axes" in a:
            return ints(a["axes"])
        return ints(extra[0]) if extra else None

    def op_squeeze(x, *extra, **a):
        axes = axes_of(a, extra)
        if axes is None:
            return x.squeeze()
        for ax in sorted((ax % x.dim() for ax in axes), reverse=True):
            x = x.squeeze(ax)
        return x

    def op_unsqueeze(x, *extra, **a):
        axes = axes_of(a, extra)
        out_rank = x.dim() + len(axes)
        for ax in sorted(ax % out_rank for ax in axes):
            x = x.unsqueeze(ax)
        return x

    def op_slice(x, *rest, **a):
        if opset >= 10:
            starts, ends = ints(rest[0]), ints(rest[1])
            axes = ints(rest[2]) if len(rest) > 2 and rest[2] is not None else list(range(len(starts)))
            steps = ints(rest[3]) if len(rest) > 3 and rest[3] is not None else [1] * len(starts)
        else:
            starts, ends = ints(a["starts"]), ints(a["ends"])
            axes = ints(a.get("axes", list(range(len(starts)))))
            steps = [1] * len(starts)
        idx = [slice(None)] * x.dim()
        for s, e, ax, st in zip(starts, ends, axes, steps):
            dim = x.shape[ax]
            idx[ax] = slice(max(min(s, dim), -dim), max(min(e, dim), -dim - 1), st)
        return x[tuple(idx)]

    def op_split(x, *rest, **a):
        axis = int(a.get("axis", 0))
        split = ints(a["split"]) if "split" in a else (ints(rest[0]) if rest else None)
        if split is None:
            n = len(node_outputs_count[0])
            return list(torch.chunk(x, n, dim=axis))
        return list(torch.split(x, split, dim=axis))

    def op_clip(x, lo=None, hi=None, **a):
        lo = a.get("min", lo)
        hi = a.get("max", hi)
        return torch.clamp(x, min=None if lo is None else float(lo), max=None if hi is None else float(hi))

    def op_batchnorm(x, scale, bias, mean, var, **a):
        return F.batch_norm(x, mean, var, scale, bias, training=False, eps=float(a.get("epsilon", 1e-5)))

    def op_pad(x, pads=None, value=None, *_, **a):
        pads = ints(a["pads"]) if "pads" in a else ints(pads)
        n = len(pads) // 2
        fpad = []
        for b, e in zip(reversed(pads[:n]), reversed(pads[n:])):
            fpad += [b, e]
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        v = float(a.get("value", 0.0)) if value is None else float(value)
        return F.pad(x, fpad, mode=mode, value=v) if mode == "constant" else F.pad(x, fpad, mode=mode)

    ops = {
        "Conv": op_conv,
        "MaxPool": op_maxpool,
        "AveragePool": op_avgpool,
        "GlobalAveragePool": lambda x, **a: x.mean(dim=tuple(range(2, x.dim())), keepdim=True),
        "Relu": lambda x, **a: F.relu(x),
        "LeakyRelu": lambda x, **a: F.leaky_relu(x, float(a.get("alpha", 0.01))),
        "Sigmoid": lambda x, **a: torch.sigmoid(x),
        "Tanh": lambda x, **a: torch.tanh(x),
        "Softmax": lambda x, **a: softmax_like(torch.softmax, x, a),
        "LogSoftmax": lambda x, **a: softmax_like(torch.log_softmax, x, a),
        "Gemm": op_gemm,
        "MatMul": lambda x, y, **a: torch.matmul(x, y),
        "Add": lambda x, y, **a: x + y,
        "Sub": lambda x, y, **a: x - y,
        "Mul": lambda x, y, **a: x * y,
        "Div": lambda x, y, **a: x / y,
        "Sum": lambda *xs, **a: sum(xs[1:], xs[0]),
        "Reshape": op_reshape,
        "Flatten": op_flatten,
        "Transpose": lambda x, **a: (x.permute(*ints(a["perm"])) if "perm" in a else x.permute(*reversed(range(x.dim())))).contiguous(),
        "Concat": lambda *xs, **a: torch.cat(list(xs), dim=int(a["axis"])),
        "Squeeze": op_squeeze,
        "Unsqueeze": op_unsqueeze,
        "Slice": op_slice,
        "Split": op_split,
        "Identity": lambda x, **a: x,
        "Dropout": lambda x, *r, **a: x,
        "Clip": op_clip,
        "BatchNormalization": op_batchnorm,
        "Pad": op_pad,
        "Shape": lambda x, **a: torch.tensor(list(x.shape), dtype=torch.int64),
        "Gather": lambda x, i, **a: torch.index_select(x, int(a.get("axis", 0)) % x.dim(), i.reshape(-1).long()).reshape(
            list(x.shape[: int(a.get("axis", 0)) % x.dim()]) + list(i.shape) + list(x.shape[int(a.get("axis", 0)) % x.dim() + 1:])),
        "Cast": lambda x, **a: x.to(ONNX_DTYPES[int(a["to"])]),
    }
    ONNX_DTYPES = {1: torch.float32, 10: torch.float16, 11: torch.float64, 6: torch.int32, 7: torch.int64, 9: torch.bool}
    node_outputs_count = [None]

    unsupported = sorted({n.op_type for n in graph.node if n.op_type not in ops and n.op_type != "Constant"})
    if unsupported:
        raise NotImplementedError(f"ONNX ops without a torch mapping here: {', '.join(unsupported)}")

    class OnnxGraphModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.names = {}
            for i, t in enumerate(graph.initializer):
                arr = numpy_helper.to_array(t).copy()
                self.register_buffer(f"w{i}", torch.from_numpy(arr))
                self.names[t.name] = f"w{i}"
            # Node indices, not id(): protobuf hands out fresh wrapper objects on each access.
            self.folded = set()
            for index, n in enumerate(graph.node):
                if n.op_type == "Constant":
                    arr = numpy_helper.to_array(attrs(n)["value"]).copy()
                    key = f"c{len(self.names)}"
                    self.register_buffer(key, torch.from_numpy(arr))
                    self.names[n.output[0]] = key
                    self.folded.add(index)
                elif n.op_type == "Cast" and n.input[0] in self.names:
                    # Weights stored in a narrower type (float16) are widened once here, as any
                    # runtime would when loading, not on every call.
                    src = getattr(self, self.names[n.input[0]])
                    key = f"c{len(self.names)}"
                    self.register_buffer(key, src.to(ONNX_DTYPES[int(attrs(n)["to"])]))
                    self.names[n.output[0]] = key
                    self.folded.add(index)
            self.input_name = graph_input(model)[0]
            self.output_names = [o.name for o in graph.output]

        def forward(self, x):
            env = {name: getattr(self, key) for name, key in self.names.items()}
            env[self.input_name] = x
            for index, n in enumerate(graph.node):
                if index in self.folded:
                    continue
                args = [env[i] if i else None for i in n.input]
                node_outputs_count[0] = n.output
                out = ops[n.op_type](*args, **attrs(n))
                if isinstance(out, (list, tuple)):
                    for name, o in zip(n.output, out):
                        env[name] = o
                else:
                    env[n.output[0]] = out
            return tuple(env[o] for o in self.output_names)

    return OnnxGraphModule().eval()


def bench_torch(model, x, runs, warmup, threads, max_seconds):
    try:
        import torch
    except ImportError as e:
        return {"name": "pytorch", "available": False, "reason": f"python module torch not importable ({e}); apt-get install python3-torch"}, None
    torch.set_num_threads(threads)
    # The trace bakes the batch-1 shapes in on purpose; its warnings about that are noise here.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    try:
        module = build_torch_module(model)
    except NotImplementedError as e:
        return {"name": "pytorch", "version": torch.__version__, "available": False, "reason": str(e)}, None
    xt = torch.from_numpy(x)
    mode = "jit-trace"
    with torch.inference_mode():
        try:
            runner = torch.jit.freeze(torch.jit.trace(module, xt, check_trace=False).eval())
            runner(xt)
        except Exception as e:  # tracing is an optimisation; eager still measures the network
            print(f"peers.py: torch.jit.trace failed ({str(e)[:200]}), timing eager mode", file=sys.stderr)
            runner, mode = module, "eager"
        outputs = runner(xt)

        def run():
            return runner(xt)

        stats = time_runs(run, runs, warmup, max_seconds)
    names = [o.name for o in model.graph.output]
    return ({"name": "pytorch", "version": torch.__version__, "available": True, "threads": threads, "mode": mode, **stats},
            dict(zip(names, [o.detach().numpy() for o in outputs])))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "models", "default", "model.onnx"))
    p.add_argument("--input", help="raw little-endian float32 tensor in the model's input layout, batch 1 (default: seeded random)")
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--max-seconds", type=float, default=120.0, help="time budget per peer; fewer runs are measured when it is spent")
    p.add_argument("--only", choices=["opencv-dnn", "pytorch"], action="append", help="run only this peer (repeatable)")
    args = p.parse_args()
    if args.runs < 1:
        fail("--runs", f"expected an integer >= 1, got {args.runs}")
    if not args.max_seconds > 0:
        fail("--max-seconds", f"expected a number > 0, got {args.max_seconds}")
    if args.warmup < 0:
        fail("--warmup", f"expected an integer >= 0, got {args.warmup}")
    if not os.path.isfile(args.model):
        fail("--model", f"no such file {args.model!r}; expected an ONNX model")

    try:
        import onnx
    except ImportError as e:
        onnx = None
        onnx_reason = f"python module onnx not importable ({e}); apt-get install python3-onnx"

    if onnx is not None:
        model = onnx.load(args.model)
        input_name, shape = graph_input(model)
    else:
        model, input_name, shape = None, None, None
    if shape is None:
        fail("--model", "the onnx module is needed to read the model's input shape")
    x = load_input(args.input, shape)

    peers, outputs = [], {}
    wanted = args.only or ["opencv-dnn", "pytorch"]
    if "opencv-dnn" in wanted:
        if model is None:
            fail("--model", "the onnx module is needed to load the model")
        r, o = bench_opencv(model, x, args.runs, args.warmup, args.threads, args.max_seconds)
        peers.append(r)
        if o is not None:
            outputs[r["name"]] = o
    if "pytorch" in wanted:
        if model is None:
            peers.append({"name": "pytorch", "available": False, "reason": onnx_reason})
        else:
            r, o = bench_torch(model, x, args.runs, args.warmup, args.threads, args.max_seconds)
            peers.append(r)
            if o is not None:
                outputs[r["name"]] = o
    for r in peers:
        if not r["available"]:
            print(f"peers.py: skipping {r['name']}: {r['reason']}", file=sys.stderr)

    # The peers must compute the same function; a large difference means a mis-built network.
    agreement = None
    if len(outputs) == 2:
        a, b = outputs["opencv-dnn"], outputs["pytorch"]
        diffs = {}
        names_b = list(b.keys())
        for i, (name, va) in enumerate(a.items()):
            vb = b.get(name, b[names_b[i]] if i < len(names_b) else None)
            if vb is not None and np.asarray(va).size == np.asarray(vb).size:
                diffs[name] = float(np.max(np.abs(np.asarray(va).reshape(-1) - np.asarray(vb).reshape(-1))))
        agreement = {"maxAbsDiff": diffs}

    print(json.dumps({
        "model": os.path.abspath(args.model),
        "input": {"name": input_name, "shape": shape, "source": args.input or "seeded random"},
        "runs": args.runs,
        "warmup": args.warmup,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "peers": peers,
        "agreement": agreement,
    }, indent=2))


if __name__ == "__main__":
    main()
