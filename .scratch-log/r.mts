import { open } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
const dir = '/tmp/' + readdirSync('/tmp').filter(d => d.startsWith('large-')).at(-1);
const fh = await open(dir + '/p0000/00000000000000000000.seg', 'r');
const buf = Buffer.allocUnsafe(1000033);
console.log(await fh.read(buf, 0, buf.length, 16).then(r => r.bytesRead));
const b2 = Buffer.allocUnsafe(256*1024);
console.log(await fh.read(b2, 0, b2.length, 16).then(r => r.bytesRead));
