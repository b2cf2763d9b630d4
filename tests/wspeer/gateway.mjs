// An independent External Gateway for the off-network tests (t90): HTTPS
// with a WebSocket upgrade (the npm `ws` package), written from
// proto/PROTOCOL.md §12 alone, so PrinterLogicServiceOffNetworkServer's
// router is not only tested against code that shares its parser.
//
//   node gateway.mjs --cert PEM --key PEM --token TOKEN --spool DIR
//                    [--port N] [--poll-ms MS] [--chunk BYTES] [--chunk-delay MS] [--cut-once ID]
//                    [--event-ack 0|1] [--upgrade-delay MS]
//
// Listens on 127.0.0.1 on a port the kernel picks and writes it to
// DIR/port. A job is DIR/jobs/ID.bin plus DIR/jobs/ID.json ({"printer",
// "user", "title", "hold"}; write it last, by rename), and optionally
// DIR/jobs/ID.sha256 (hex): the digest to announce, as a gateway that
// stored it at intake has it (else the file is read and hashed before its
// SUBMIT_BEGIN; a wrong one is the router's SHA-256 mismatch). Every job not yet
// acknowledged is pushed to each connected router: SUBMIT_BEGIN,
// SUBMIT_DATA..., SUBMIT_END (one TLV frame a binary message). A RESULT
// deletes the job (only then) and appends "ID EVENT REASON" to DIR/acks.
// Upgrades without "Authorization: Bearer TOKEN" get 401 before any
// WebSocket exists, and a line in DIR/refused. --cut-once ID: the first
// time job ID is half sent, a WebSocket frame header promising 1000 bytes
// and 10 of them go out raw, and the TCP connection is destroyed.
// A JOB_EVENT (what later became of a held job, §12.1) appends
// "ID EVENT SEQ PRINTER MESSAGE" to DIR/events (PRINTER "-" when absent)
// and is acknowledged with a RESULT carrying its SEQ, unless --event-ack 0
// (then it is only recorded, and the router must send it again on the
// next connection). A JOB_EVENT whose SEQ already came on the same
// connection appends "ID SEQ" to DIR/dups (the router sends each
// unacknowledged event once a connection). --upgrade-delay MS: an upgrade
// with the right token appends a line to DIR/upgrading and is answered MS
// later (the router is connecting meanwhile).
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, openSync, readSync, closeSync,
	 readFileSync, readdirSync, renameSync, statSync, unlinkSync,
	 writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { WebSocketServer } from 'ws';

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['cert', 'key', 'token', 'spool'])
  if (!args[k]) { console.error(`missing --${k}`); process.exit(2); }
const spool = args.spool;
const CHUNK = Number(args.chunk || 256 * 1024 - 64);
const DELAY = Number(args['chunk-delay'] || 0);
const POLL = Number(args['poll-ms'] || 20); // how often the spool is looked at
let cutOnce = args['cut-once'] || null;
mkdirSync(`${spool}/jobs`, { recursive: true });

const T = { MESSAGE: 0x0006, PAYLOAD: 0x0020, USER: 0x0031, TITLE: 0x0033,
  PRINTER: 0x0034, SIZE: 0x0038, SHA256: 0x0039, JOB_ID: 0x003a, EVENT: 0x0041,
  TIME_MS: 0x0047, HOLD: 0x00b0, SEQ: 0x00b8 };
const M = { RESULT: 0x0007, JOB_EVENT: 0x0202, BEGIN: 0x0300, DATA: 0x0301, END: 0x0302 };
const EVENT_ACK = args['event-ack'] !== '0';
const UPGRADE_DELAY = Number(args['upgrade-delay'] || 0);

function field(tag, value) {
  const h = Buffer.alloc(6);
  h.writeUInt16BE(tag, 0);
  h.writeUInt32BE(value.length, 2);
  return Buffer.concat([h, value]);
}
const str = (tag, s) => field(tag, Buffer.from(s, 'utf8'));
function u64(tag, n) { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return field(tag, b); }
function u8(tag, n) { return field(tag, Buffer.from([n])); }
function frame(type, fields) {
  const payload = Buffer.concat(fields);
  const h = Buffer.alloc(16);
  h.write('PL', 0, 'latin1');
  h[2] = 1; h[3] = 0;
  h.writeUInt16BE(type, 4);
  h.writeUInt16BE(0, 6);
  h.writeUInt32BE(0, 8);
  h.writeUInt32BE(payload.length, 12);
  return Buffer.concat([h, payload]);
}
function parse(buf) {
  if (buf.length < 16 || buf.toString('latin1', 0, 2) !== 'PL' || buf[2] !== 1) return null;
  const type = buf.readUInt16BE(4), len = buf.readUInt32BE(12);
  if (16 + len !== buf.length) return null;
  const f = {};
  for (let o = 16; o < buf.length;) {
    if (o + 6 > buf.length) return null;
    const tag = buf.readUInt16BE(o), l = buf.readUInt32BE(o + 2);
    if (o + 6 + l > buf.length) return null;
    if (!(tag in f)) f[tag] = buf.subarray(o + 6, o + 6 + l);
    o += 6 + l;
  }
  return { type, f };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function sent(ws, data) {
  return new Promise((resolve, reject) => ws.send(data, { binary: true }, (e) => (e ? reject(e) : resolve())));
}

async function push(ws, id) {
  const meta = JSON.parse(readFileSync(`${spool}/jobs/${id}.json`, 'utf8'));
  const path = `${spool}/jobs/${id}.bin`;
  const size = statSync(path).size;
  const digest = existsSync(`${spool}/jobs/${id}.sha256`)
    ? Buffer.from(readFileSync(`${spool}/jobs/${id}.sha256`, 'utf8').trim(), 'hex')
    : createHash('sha256').update(readFileSync(path)).digest();
  await sent(ws, frame(M.BEGIN, [str(T.JOB_ID, id), str(T.PRINTER, meta.printer),
    str(T.USER, meta.user || 'remote'), str(T.TITLE, meta.title || id), u64(T.SIZE, size),
    field(T.SHA256, digest), u8(T.HOLD, meta.hold ? 1 : 0)]));
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let off = 0; off < size;) {
      if (ws.readyState !== ws.OPEN) return;
      const n = readSync(fd, buf, 0, CHUNK, off);
      if (cutOnce === id && off >= size / 2) {
        cutOnce = null;
        appendFileSync(`${spool}/cuts`, `${id} ${off}\n`);
        ws._socket.write(Buffer.concat([Buffer.from([0x82, 126, 0x03, 0xe8]), Buffer.alloc(10)]));
        ws._socket.destroy();
        return;
      }
      await sent(ws, frame(M.DATA, [field(T.PAYLOAD, buf.subarray(0, n))]));
      off += n;
      if (DELAY) await sleep(DELAY);
    }
  } finally {
    closeSync(fd);
  }
  await sent(ws, frame(M.END, [str(T.JOB_ID, id)]));
}

function onJobEvent(ws, m, seqs) {
  const ok = m.f[T.JOB_ID] && m.f[T.EVENT] && m.f[T.SEQ] && m.f[T.SEQ].length === 8 &&
    m.f[T.TIME_MS] && m.f[T.TIME_MS].length === 8;
  if (!ok) {
    appendFileSync(`${spool}/bad`, `bad job event\n`);
    return;
  }
  const seq = m.f[T.SEQ].readBigUInt64BE(0);
  const id = m.f[T.JOB_ID].toString();
  if (seqs.has(seq)) appendFileSync(`${spool}/dups`, `${id} ${seq}\n`);
  seqs.add(seq);
  const printer = m.f[T.PRINTER] ? m.f[T.PRINTER].toString() : '-';
  const why = m.f[T.MESSAGE] ? m.f[T.MESSAGE].toString() : '';
  appendFileSync(`${spool}/events`, `${id} ${m.f[T.EVENT].toString()} ${seq} ${printer} ${why}\n`);
  if (EVENT_ACK) ws.send(frame(M.RESULT, [u64(T.SEQ, seq), str(T.JOB_ID, id)]), { binary: true });
}

function onMessage(ws, msg, seqs) {
  const m = parse(msg);
  if (m && m.type === M.JOB_EVENT) onJobEvent(ws, m, seqs);
  else onResult(m);
}

function onResult(m) {
  if (!m || m.type !== M.RESULT || !m.f[T.JOB_ID] || !m.f[T.EVENT]) {
    appendFileSync(`${spool}/bad`, `bad message\n`);
    return;
  }
  const id = m.f[T.JOB_ID].toString();
  const ev = m.f[T.EVENT].toString();
  const why = m.f[T.MESSAGE] ? m.f[T.MESSAGE].toString() : '';
  for (const ext of ['json', 'bin'])
    if (existsSync(`${spool}/jobs/${id}.${ext}`)) unlinkSync(`${spool}/jobs/${id}.${ext}`);
  appendFileSync(`${spool}/acks`, `${id} ${ev} ${why}\n`);
  // A job with this id that comes later is a new delivery.
  for (const sent of connections) sent.delete(id);
}

// One pusher a connection: jobs in name order, each sent once a connection.
const connections = new Set(); // each connection's ids sent
async function serve(ws) {
  const done = new Set();
  connections.add(done);
  ws.on('close', () => connections.delete(done));
  while (ws.readyState === ws.OPEN) {
    const ids = readdirSync(`${spool}/jobs`).filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5)).sort().filter((id) => !done.has(id));
    for (const id of ids) {
      if (ws.readyState !== ws.OPEN) break;
      done.add(id);
      try { await push(ws, id); } catch { break; }
    }
    await sleep(POLL);
  }
}

const server = createServer({ cert: readFileSync(args.cert), key: readFileSync(args.key) });
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1 << 20,
  handleProtocols: (p) => (p.has('plsc-offnet-1') ? 'plsc-offnet-1' : false) });
server.on('upgrade', (req, socket, head) => {
  if (req.headers.authorization !== `Bearer ${args.token}`) {
    appendFileSync(`${spool}/refused`, `${req.socket.remoteAddress} bad token\n`);
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const upgrade = () => wss.handleUpgrade(req, socket, head, (ws) => {
    appendFileSync(`${spool}/connections`, 'connected\n');
    const seqs = new Set(); // this connection's JOB_EVENT numbers
    ws.on('message', (msg) => onMessage(ws, msg, seqs));
    ws.on('error', () => {});
    serve(ws);
  });
  if (!UPGRADE_DELAY) return upgrade();
  appendFileSync(`${spool}/upgrading`, 'upgrading\n');
  setTimeout(upgrade, UPGRADE_DELAY);
});
server.on('tlsClientError', (e) => appendFileSync(`${spool}/tls-errors`, `${e.message}\n`));
server.listen(Number(args.port || 0), '127.0.0.1', () => {
  writeFileSync(`${spool}/port.tmp`, `${server.address().port}\n`);
  renameSync(`${spool}/port.tmp`, `${spool}/port`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
