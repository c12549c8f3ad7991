import { RecommendServingErrors } from './errors.js';

/**
 * A small binary container: 4-byte magic · u32 header length · header JSON · zero padding to 8 ·
 * typed arrays, each 8-aligned (the layout of artifact.ts, without its model header). Used for the
 * trainer's interaction snapshot.
 */
export type ContainerArray = Float64Array | Float32Array | Int32Array | Uint8Array;

const TYPES = { f64: Float64Array, f32: Float32Array, i32: Int32Array, u8: Uint8Array } as const;
type TypeName = keyof typeof TYPES;

interface Entry {
  name: string;
  type: TypeName;
  offset: number;
  length: number;
}

const align8 = (n: number): number => (n + 7) & ~7;

function typeOf(a: ContainerArray): TypeName {
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  return 'u8';
}

export function encodeContainer(
  magic: string,
  header: Record<string, unknown>,
  arrays: Readonly<Record<string, ContainerArray>>,
): Buffer {
  const entries: Entry[] = [];
  let offset = 0;
  for (const [name, array] of Object.entries(arrays)) {
    entries.push({ name, type: typeOf(array), offset, length: array.length });
    offset = align8(offset + array.byteLength);
  }
  const headerBytes = Buffer.from(JSON.stringify({ ...header, arrays: entries }), 'utf8');
  const dataStart = align8(8 + headerBytes.length);
  const out = Buffer.alloc(dataStart + offset);
  out.write(magic.slice(0, 4).padEnd(4, ' '), 0, 'latin1');
  out.writeUInt32LE(headerBytes.length, 4);
  headerBytes.copy(out, 8);
  for (const entry of entries) {
    const array = arrays[entry.name]!;
    out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), dataStart + entry.offset);
  }
  return out;
}

function bad(message: string): Error {
  return RecommendServingErrors.create('RECOMMEND_INVALID_SNAPSHOT', message);
}

export function decodeContainer(
  magic: string,
  buffer: Uint8Array,
): { header: Record<string, unknown>; arrays: Record<string, ContainerArray> } {
  if (buffer.length < 8 || Buffer.from(buffer.subarray(0, 4)).toString('latin1') !== magic) throw bad('bad magic');
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > buffer.length) throw bad('truncated header');
  let header: Record<string, unknown> & { arrays?: Entry[] };
  try {
    header = JSON.parse(Buffer.from(buffer.subarray(8, 8 + headerLength)).toString('utf8')) as typeof header;
  } catch (error) {
    throw RecommendServingErrors.create('RECOMMEND_INVALID_SNAPSHOT', 'header is not JSON', { cause: error });
  }
  const dataStart = align8(8 + headerLength);
  const arrays: Record<string, ContainerArray> = {};
  for (const entry of header.arrays ?? []) {
    const Ctor = TYPES[entry.type];
    if (!Ctor) throw bad(`unknown array type ${String(entry.type)}`);
    const byteLength = entry.length * Ctor.BYTES_PER_ELEMENT;
    const start = dataStart + entry.offset;
    if (start + byteLength > buffer.length) throw bad(`array ${entry.name} out of bounds`);
    const copy = new Uint8Array(byteLength);
    copy.set(buffer.subarray(start, start + byteLength));
    arrays[entry.name] = new Ctor(copy.buffer, 0, entry.length);
  }
  delete header.arrays;
  return { header, arrays };
}
