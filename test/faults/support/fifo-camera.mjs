// A "camera" behind a FIFO: writes raw frames of the given size at the given rate into it, and
// when the reader goes away (EPIPE) waits for the next one. SIGSTOP on this process is a camera
// that hangs while its device stays open.
import { closeSync, openSync, writeSync } from "node:fs";

const [fifo, frameBytes, fps] = process.argv.slice(2);
const frame = Buffer.alloc(Number(frameBytes));
let fd = -1;
let n = 0;
setInterval(
  () => {
    try {
      // Blocks until a reader opens the FIFO: a camera nobody reads waits.
      if (fd < 0) fd = openSync(fifo, "w");
      frame.fill(n++ & 0xff);
      writeSync(fd, frame);
    } catch {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    }
  },
  1000 / Number(fps),
);
