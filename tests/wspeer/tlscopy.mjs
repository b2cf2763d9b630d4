// The floor of make bench [14]: a plain TLS copy of FILE over loopback
// (server and client in this process, the same Node and OpenSSL as the
// gateway fixture), printing the milliseconds from connect to the last
// byte received:  node tlscopy.mjs CERT KEY FILE
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:tls';

const [cert, key, file] = process.argv.slice(2);
const size = statSync(file).size;
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (s) => {
  let got = 0;
  s.on('data', (d) => {
    got += d.length;
    if (got === size) {
      console.log((Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1));
      s.end();
      server.close();
    }
  });
});
let t0;
server.listen(0, '127.0.0.1', () => {
  t0 = process.hrtime.bigint();
  const c = connect({ host: '127.0.0.1', port: server.address().port, rejectUnauthorized: false },
    () => createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(c));
  c.on('error', () => {});
});
