// node-webcam ships no type declarations; these cover the part WebcamSource uses.
declare module "node-webcam" {
  interface NodeWebcamOptions {
    width?: number;
    height?: number;
    quality?: number;
    delay?: number;
    saveShots?: boolean;
    output?: "jpeg" | "png" | "bmp";
    device?: string | false;
    callbackReturn?: "location" | "buffer" | "base64";
    verbose?: boolean;
  }
  interface NodeWebcamCamera {
    capture(location: string, callback: (err: Error | null, data?: Buffer) => void): void;
  }
  const NodeWebcam: { create(options: NodeWebcamOptions): NodeWebcamCamera };
  export default NodeWebcam;
}
