import type { InteractionMatrix } from './types.js';

/** Per-user training rows (CSR) a model keeps to score users "as of training". */
export interface UserRows {
  readonly ptr: Int32Array;
  readonly items: Int32Array;
  readonly values: Float32Array;
}

/** The matrix rows with each weight mapped through `value` (binarise, time-decay…). */
export function userRowsOf(m: InteractionMatrix, value: (weight: number, nz: number) => number): UserRows {
  const values = new Float32Array(m.userItems.length);
  for (let k = 0; k < values.length; k++) values[k] = value(m.userWeights[k]!, k);
  return { ptr: m.userPtr, items: m.userItems, values };
}

export function rowsFromArrays(arrays: Readonly<Record<string, unknown>>): UserRows {
  return {
    ptr: arrays.userPtr as Int32Array,
    items: arrays.userItems as Int32Array,
    values: arrays.userValues as Float32Array,
  };
}
