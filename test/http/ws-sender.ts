// A WebSocket client in its own process (so its buffers are not the pump's memory): connects to
// argv[2], sends argv[3] binary messages of argv[4] bytes at once (each starting with its number),
// ignoring back-pressure, and prints {"buffered": n} every 20 ms until everything was written.
import { WebSocket } from "ws";

const [url, countText, sizeText] = process.argv.slice(2);
const count = Number(countText);
const size = Number(sizeText);
const ws = new WebSocket(url!);
ws.on("open", () => {
  let written = 0;
  for (let i = 0; i < count; i++) {
    const data = Buffer.alloc(size, i % 251);
    data.writeUInt32BE(i, 0);
    ws.send(data, { binary: true }, (e) => {
      if (!e) written++;
    });
  }
  const timer = setInterval(() => {
    process.stdout.write(JSON.stringify({ buffered: ws.bufferedAmount, written }) + "\n");
    if (written === count) {
      clearInterval(timer);
      ws.close(1000);
    }
  }, 20);
});
ws.on("error", (e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
