// onnxruntime-node's outputs for the 1-D test models: reads <name>.input.npy, writes
// <name>.ort.npy and prints the largest difference from PyTorch's <name>.output.npy.
//
//   node models/oned/ort_reference.mjs     (onnxruntime-node from bench/: see bench/package.json)
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', '..', 'bench', 'package.json'));
const ort = require('onnxruntime-node');
const MODELS = ['tcn', 'decoder', 'sequence_head'];

// Little-endian float32 .npy, C order (what make_oned.py writes).
function readNpy(path) {
  const buf = readFileSync(path);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) throw new Error(`${path}: not float32 C-order`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const start = 10 + headerLen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return { shape, data };
}

function writeNpy(path, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

for (const name of MODELS) {
  const session = await ort.InferenceSession.create(join(here, `${name}.onnx`));
  const x = readNpy(join(here, `${name}.input.npy`));
  const result = await session.run({ input: new ort.Tensor('float32', x.data, x.shape) });
  const y = result.output;
  writeNpy(join(here, `${name}.ort.npy`), y.dims, y.data);
  const torch = readNpy(join(here, `${name}.output.npy`));
  let worst = 0;
  for (let i = 0; i < y.data.length; i++) worst = Math.max(worst, Math.abs(y.data[i] - torch.data[i]));
  console.log(`${name}: onnxruntime-node ${ort.env.versions?.common ?? ''} output [${y.dims}], max |ort - torch| = ${worst.toExponential(2)}`);
}
