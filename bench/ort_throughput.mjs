// onnxruntime-node throughput on ONNX models: the ORT half of bench/run_float_bench.sh, same
// arguments and JSON fields as bench_float_throughput (bench/float_throughput.cpp).
//
//   node bench/ort_throughput.mjs --models a.onnx,b.onnx [--threads T] [--images N] [--repeats R]
//                                 [--batch B] [--warmup-images W] [--json] [--compare-outputs DIR]
//                                 [--profile DIR]
//
// Session: CPU execution provider, intraOpNumThreads = T, interOpNumThreads = 1,
// graphOptimizationLevel 'all', executionMode 'sequential'. Input: the first N Fashion-MNIST
// test images read straight from the IDX .gz, scaled by 1/255, fed as [B,1,28,28] float32
// (the zoo models have a dynamic batch dimension). Untimed warm-up calls first (the first
// batches, at least W = 200 images and one call). Each timed pass is ceil(N/B) awaited
// session.run() calls; medians over R passes.
// --compare-outputs DIR reads DIR/<model>.f32 (written by bench_float_throughput
// --dump-outputs) and reports top-1 agreement and the max |difference| with tinyq's outputs.
// --profile DIR runs one extra pass with ORT's profiler on and reports time per op type.
//
// Install (from bench/): ONNXRUNTIME_NODE_INSTALL=skip npm ci
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const ORT_VERSION = require('onnxruntime-node/package.json').version;

const DATA_DIR = '/usr/share/datasets/fashion-mnist';

function usage(why) {
  process.stderr.write(
    `ort_throughput: ${why}\n` +
      'usage: node ort_throughput.mjs --models a.onnx,b.onnx [--threads T] [--images N] [--repeats R]\n' +
      '                               [--batch B] [--warmup-images W] [--json] [--compare-outputs DIR] [--profile DIR]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const a = { models: [], threads: 1, images: 2000, repeats: 5, batch: 0, warmupImages: 200, json: false, compare: '', profile: '' };
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${k} needs a value`);
      return argv[++i];
    };
    const num = () => {
      const v = val();
      if (!/^\d+$/.test(v)) usage(`${k}: not a count: ${v}`);
      return Number(v);
    };
    switch (k) {
      case '--models': a.models = val().split(',').filter((s) => s.length > 0); break;
      case '--threads': a.threads = num(); break;
      case '--images': a.images = num(); break;
      case '--repeats': a.repeats = num(); break;
      case '--batch': a.batch = num(); break;
      case '--warmup-images': a.warmupImages = num(); break;
      case '--json': a.json = true; break;
      case '--compare-outputs': a.compare = val(); break;
      case '--profile': a.profile = val(); break;
      default: usage(`unknown argument ${k}`);
    }
  }
  if (a.models.length === 0) usage('--models is required');
  if (a.threads < 1 || a.images < 1 || a.repeats < 1) usage('--threads, --images and --repeats must be >= 1');
  if (a.batch <= 0 || a.batch > a.images) a.batch = a.images;
  return a;
}

// IDX (gzipped): magic 0x00 0x00 type ndim, then ndim big-endian u32 dims, then the data.
function readIdx(file) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) throw new Error(`${file}: not a uint8 IDX file`);
  const ndim = buf[3];
  const dims = [];
  for (let d = 0; d < ndim; ++d) dims.push(buf.readUInt32BE(4 + 4 * d));
  return { dims, data: buf.subarray(4 + 4 * ndim) };
}

function median(v) {
  const s = [...v].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

function argmax(row) {
  let best = 0;
  for (let c = 1; c < row.length; ++c) if (row[c] > row[best]) best = c;
  return best;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const images = readIdx(path.join(DATA_DIR, 't10k-images-idx3-ubyte.gz'));
  const labelsIdx = readIdx(path.join(DATA_DIR, 't10k-labels-idx1-ubyte.gz'));
  const n = Math.min(args.images, images.dims[0]);
  const pixels = images.dims[1] * images.dims[2];
  const x = new Float32Array(n * pixels);
  for (let i = 0; i < x.length; ++i) x[i] = images.data[i] / 255;
  const labels = labelsIdx.data.subarray(0, n);

  const batches = [];
  for (let first = 0; first < n; first += args.batch) {
    const count = Math.min(args.batch, n - first);
    batches.push({ first, count, data: x.subarray(first * pixels, (first + count) * pixels) });
  }

  for (const modelPath of args.models) {
    const model = path.basename(modelPath).replace(/\.onnx$/, '');
    const options = {
      executionProviders: ['cpu'],
      intraOpNumThreads: args.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    };
    const loadStart = process.hrtime.bigint();
    const session = await ort.InferenceSession.create(modelPath, options);
    const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
    const inputName = session.inputNames[0];
    const outputName = session.outputNames[0];
    // Tensors built once, like the tinyq side's pre-sliced batches.
    const feeds = batches.map((b) => ({ [inputName]: new ort.Tensor('float32', b.data, [b.count, 1, images.dims[1], images.dims[2]]) }));

    let outputs = new Array(batches.length);
    const pass = async (sess) => {
      for (let i = 0; i < feeds.length; ++i) outputs[i] = (await sess.run(feeds[i]))[outputName];
    };
    // Warm-up: the first batches, at least W images and one call (as on the tinyq side).
    for (let i = 0, done = 0; i === 0 || done < args.warmupImages; ++i) {
      const b = feeds[i % feeds.length];
      await session.run(b);
      done += batches[i % feeds.length].count;
    }
    const ips = [];
    const msCall = [];
    for (let r = 0; r < args.repeats; ++r) {
      const t0 = process.hrtime.bigint();
      await pass(session);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      ips.push(n / s);
      msCall.push((s * 1e3) / feeds.length);
    }

    const classes = outputs[0].dims[outputs[0].dims.length - 1];
    const scores = new Float32Array(n * classes);
    for (let i = 0; i < outputs.length; ++i) scores.set(outputs[i].data, batches[i].first * classes);
    let correct = 0;
    for (let i = 0; i < n; ++i) if (argmax(scores.subarray(i * classes, (i + 1) * classes)) === labels[i]) ++correct;

    const result = {
      engine: 'onnxruntime-node',
      ort_version: ORT_VERSION,
      model,
      threads: args.threads,
      batch: args.batch,
      images: n,
      repeats: args.repeats,
      calls_per_pass: feeds.length,
      median_img_per_s: median(ips),
      min_img_per_s: Math.min(...ips),
      max_img_per_s: Math.max(...ips),
      median_ms_per_call: median(msCall),
      runs_img_per_s: ips,
      top1: correct / n,
      load_ms: loadMs,
    };

    if (args.compare) {
      const file = path.join(args.compare, `${model}.f32`);
      const raw = fs.readFileSync(file);
      const ref = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      if (ref.length !== scores.length) throw new Error(`${file}: ${ref.length} floats, ORT produced ${scores.length}`);
      let agree = 0;
      let maxDiff = 0;
      for (let i = 0; i < n; ++i) {
        const a = scores.subarray(i * classes, (i + 1) * classes);
        const b = ref.subarray(i * classes, (i + 1) * classes);
        if (argmax(a) === argmax(b)) ++agree;
        for (let c = 0; c < classes; ++c) maxDiff = Math.max(maxDiff, Math.abs(a[c] - b[c]));
      }
      result.tinyq_top1_agreement = agree / n;
      result.tinyq_max_abs_diff = maxDiff;
    }

    if (args.profile) {
      fs.mkdirSync(args.profile, { recursive: true });
      const prefix = path.join(args.profile, `ort_${model}_t${args.threads}_b${args.batch}`);
      const profSession = await ort.InferenceSession.create(modelPath, { ...options, enableProfiling: true, profileFilePrefix: prefix });
      await pass(profSession);
      profSession.endProfiling();
      await profSession.release();
      result.profile = summariseProfile(args.profile, path.basename(prefix), n);
    }

    await session.release();
    if (args.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      process.stdout.write(
        `${model.padEnd(16)} threads ${args.threads} batch ${String(args.batch).padEnd(5)} ` +
          `${result.median_img_per_s.toFixed(1).padStart(10)} img/s (min ${result.min_img_per_s.toFixed(1)}, max ${result.max_img_per_s.toFixed(1)}) ` +
          `${result.median_ms_per_call.toFixed(3).padStart(9)} ms/call  top-1 ${result.top1.toFixed(4)}` +
          (args.compare ? `  agree ${result.tinyq_top1_agreement.toFixed(4)} maxdiff ${result.tinyq_max_abs_diff.toExponential(2)}` : '') +
          '\n',
      );
      if (result.profile) {
        process.stdout.write(`  ORT profile (kernel time per op type, one pass):\n`);
        for (const t of result.profile.by_op)
          process.stdout.write(`    ${t.op.padEnd(28)} ${String(t.nodes).padStart(3)} ${t.us_per_image.toFixed(2).padStart(10)} us/image ${(100 * t.share).toFixed(1).padStart(6)}%\n`);
        for (const t of result.profile.nodes)
          process.stdout.write(`    ${t.node.slice(0, 40).padEnd(40)} ${t.op.padEnd(20)} ${t.us_per_image.toFixed(2).padStart(10)} us/image\n`);
      }
    }
  }
}

// ORT's profile: a Chrome-trace JSON array; "Node" events named "<node>_kernel_time" carry the
// op type in args.op_name and the duration in us.
function summariseProfile(dir, prefix, images) {
  const file = fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort().pop();
  const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const byOp = new Map();
  const byNode = new Map();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    const node = e.name.slice(0, -'_kernel_time'.length);
    const o = byOp.get(op) ?? { us: 0, nodes: new Set() };
    o.us += e.dur;
    o.nodes.add(node);
    byOp.set(op, o);
    const nn = byNode.get(node) ?? { op, us: 0 };
    nn.us += e.dur;
    byNode.set(node, nn);
    total += e.dur;
  }
  return {
    file: path.join(dir, file),
    kernel_us_per_image: total / images,
    by_op: [...byOp.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .map(([op, o]) => ({ op, nodes: o.nodes.size, us_per_image: o.us / images, share: o.us / total })),
    nodes: [...byNode.entries()].map(([node, o]) => ({ node, op: o.op, us_per_image: o.us / images })),
  };
}

main().catch((e) => {
  process.stderr.write(`ort_throughput: ${e.stack ?? e}\n`);
  process.exit(1);
});
