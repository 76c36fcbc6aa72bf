/** Moved to src/core (the runtime reads ONNX signatures; core must not depend on training). */
export * from "../../core/onnx-proto.js";
