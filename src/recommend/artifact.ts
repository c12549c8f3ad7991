import { RecommendErrors } from './errors.js';
import { isModelName } from './types.js';
import type { ArtifactArray, ModelArtifact } from './types.js';

/**
 * Binary artifact layout (little-endian):
 *   "KRM1" · u32 header length · header JSON (UTF-8) · zero padding to 8 · arrays, each 8-aligned.
 * The header carries model, options, meta, id dictionaries and, per array, {name, type, offset,
 * length}; offsets count from the start of the array section. Plain enough for another runtime
 * to read, and decoding copies into fresh aligned typed arrays.
 */
const MAGIC = 'KRM1';
const FORMAT_VERSION = 1;

const ARRAY_TYPES = {
  f64: Float64Array,
  f32: Float32Array,
  i32: Int32Array,
  u8: Uint8Array,
} as const;
type ArrayType = keyof typeof ARRAY_TYPES;

interface ArrayEntry {
  name: string;
  type: ArrayType;
  offset: number;
  length: number;
}

interface Header {
  formatVersion: number;
  model: string;
  options: Record<string, unknown>;
  meta: Record<string, unknown>;
  userIds: string[];
  itemIds: string[];
  arrays: ArrayEntry[];
}

function typeOf(a: ArtifactArray): ArrayType {
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  return 'u8';
}

const align8 = (n: number): number => (n + 7) & ~7;

/** Serialises a model artifact into one Buffer (see the layout above). */
export function encodeArtifact(artifact: ModelArtifact): Buffer {
  const entries: ArrayEntry[] = [];
  let offset = 0;
  for (const [name, array] of Object.entries(artifact.arrays)) {
    entries.push({ name, type: typeOf(array), offset, length: array.length });
    offset = align8(offset + array.byteLength);
  }
  const header: Header = {
    formatVersion: FORMAT_VERSION,
    model: artifact.model,
    options: { ...artifact.options },
    meta: { ...artifact.meta },
    userIds: [...artifact.userIds],
    itemIds: [...artifact.itemIds],
    arrays: entries,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = align8(8 + headerBytes.length);
  const out = Buffer.alloc(dataStart + offset);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(headerBytes.length, 4);
  headerBytes.copy(out, 8);
  for (const entry of entries) {
    const array = artifact.arrays[entry.name]!;
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    out.set(bytes, dataStart + entry.offset);
  }
  return out;
}

function bad(message: string): Error {
  return RecommendErrors.create('RECOMMEND_INVALID_ARTIFACT', message);
}

/** Reads a Buffer written by encodeArtifact; throws RECOMMEND_INVALID_ARTIFACT on anything else. */
export function decodeArtifact(buffer: Uint8Array): ModelArtifact {
  if (buffer.length < 8 || Buffer.from(buffer.subarray(0, 4)).toString('latin1') !== MAGIC) {
    throw bad('bad magic');
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > buffer.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(Buffer.from(buffer.subarray(8, 8 + headerLength)).toString('utf8')) as Header;
  } catch (err) {
    throw RecommendErrors.create('RECOMMEND_INVALID_ARTIFACT', 'header is not JSON', { cause: err });
  }
  if (header.formatVersion !== FORMAT_VERSION) throw bad(`unsupported format ${String(header.formatVersion)}`);
  if (!isModelName(header.model)) throw bad(`unknown model ${String(header.model)}`);
  const dataStart = align8(8 + headerLength);
  const arrays: Record<string, ArtifactArray> = {};
  for (const entry of header.arrays) {
    const Ctor = ARRAY_TYPES[entry.type];
    if (!Ctor) throw bad(`unknown array type ${String(entry.type)}`);
    const byteLength = entry.length * Ctor.BYTES_PER_ELEMENT;
    const start = dataStart + entry.offset;
    if (start + byteLength > buffer.length) throw bad(`array ${entry.name} out of bounds`);
    const copy = new Uint8Array(byteLength);
    copy.set(buffer.subarray(start, start + byteLength));
    arrays[entry.name] = new Ctor(copy.buffer, 0, entry.length);
  }
  return {
    model: header.model,
    options: header.options,
    meta: header.meta,
    userIds: header.userIds,
    itemIds: header.itemIds,
    arrays,
  };
}
