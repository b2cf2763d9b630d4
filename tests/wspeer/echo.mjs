// WebSocket echo server for t10: listens on 127.0.0.1 on a free port
// (chosen by the kernel), writes that port to the file named by argv[2]
// once listening, and sends every message back as "echo: <message>".
import { writeFileSync, renameSync } from 'node:fs';
import { WebSocketServer } from 'ws';

const portFile = process.argv[2];
if (!portFile) {
  console.error('usage: node echo.mjs PORT_FILE');
  process.exit(2);
}
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => {
  writeFileSync(portFile + '.tmp', `${wss.address().port}\n`);
  renameSync(portFile + '.tmp', portFile);
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(isBinary ? data : `echo: ${data}`, { binary: isBinary });
  });
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { wss.close(); process.exit(0); });
}
