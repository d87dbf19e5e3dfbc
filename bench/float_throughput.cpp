// Float executor throughput on ONNX models, the tinyq half of bench/run_float_bench.sh
// (bench/ort_throughput.mjs is the onnxruntime-node half; both take the same arguments and
// print the same JSON fields).
//
//   bench_float_throughput --models a.onnx,b.onnx [--threads T] [--images N] [--repeats R]
//                          [--batch B] [--warmup-images W] [--json] [--dump-outputs DIR] [--profile]
//
// For each model: import + simplify, one FloatExecutor with T threads, untimed warm-up calls
// (the first batches, at least W = 200 images and one call), then R timed passes over the first N Fashion-MNIST test
// images, each pass made of ceil(N/B) run() calls of B images ([B,1,28,28]; B = N is a single call). Reported: median
// images/s and median ms per call over the R passes (plus min/max), and top-1 accuracy vs the labels.
// --dump-outputs DIR writes DIR/<model>.f32 (raw little-endian float32 outputs of the N images,
// row-major) so the ORT side can check it computes the same thing.
// --profile adds one instrumented pass: FloatExecutor's Observer runs after each node, so the
// time between two successive callbacks on one thread is the cost of that node (the first node
// of a sample also absorbs the executor's per-sample input copy / output copy; the first node
// of each run() call, which would also absorb run()'s set-up, is measured on the other samples
// only, so with --batch 1 the first node shows 0 and its time is in "outside nodes"). Reported
// per op type and per node, plus the part of the workers' time outside any node (thread
// start-up, workspace allocation, layout copies, the observer itself).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "exec/classification.hpp"
#include "exec/float_executor.hpp"
#include "frontend/onnx/onnx_import.hpp"
#include "passes/passes.hpp"
#include "util/error.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Args {
  std::vector<std::string> models;
  int threads = 1;
  std::int64_t images = 2000;
  int repeats = 5;
  std::int64_t batch = 0;  // 0: = images
  std::int64_t warmup_images = 200;
  bool json = false;
  bool profile = false;
  std::string dump_dir;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr
      << "bench_float_throughput: " << why << "\n"
      << "usage: bench_float_throughput --models a.onnx,b.onnx [--threads T] [--images N] [--repeats R]\n"
         "                              [--batch B] [--warmup-images W] [--json] [--dump-outputs DIR] [--profile]\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    auto num = [&]() -> long long {
      std::string v = val();
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0) usage(k + ": not a count: " + v);
      return n;
    };
    if (k == "--models") {
      std::string v = val();
      for (std::size_t p = 0; p <= v.size();) {
        std::size_t q = std::min(v.find(',', p), v.size());
        if (q > p) a.models.push_back(v.substr(p, q - p));
        p = q + 1;
      }
    } else if (k == "--threads")
      a.threads = int(num());
    else if (k == "--images")
      a.images = num();
    else if (k == "--repeats")
      a.repeats = int(num());
    else if (k == "--batch")
      a.batch = num();
    else if (k == "--warmup-images")
      a.warmup_images = num();
    else if (k == "--json")
      a.json = true;
    else if (k == "--profile")
      a.profile = true;
    else if (k == "--dump-outputs")
      a.dump_dir = val();
    else if (k == "-h" || k == "--help")
      usage("help");
    else
      usage("unknown argument " + k);
  }
  if (a.models.empty()) usage("--models is required");
  if (a.threads < 1 || a.images < 1 || a.repeats < 1) usage("--threads, --images and --repeats must be >= 1");
  if (a.batch <= 0 || a.batch > a.images) a.batch = a.images;
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

// First `count` rows of `t` starting at `first`, as a new tensor.
tinyq::Tensor rows(const tinyq::Tensor& t, std::int64_t first, std::int64_t count) {
  tinyq::Shape s = t.shape();
  const std::int64_t row = t.numel() / s[0];
  s[0] = count;
  tinyq::Tensor out(tinyq::DType::f32, s);
  std::copy_n(t.f32().data() + first * row, count * row, out.f32().data());
  return out;
}

// Multiply-accumulates of one sample of a Conv / Dense node (0 for other ops).
double macs(const tinyq::Graph& g, const tinyq::Node& n) {
  using tinyq::Op;
  const auto& out = g.value(n.outputs[0]).shape;
  if (n.op == Op::Conv) {
    const auto& w = g.value(n.inputs[1]).shape;  // [O,KH,KW,C/group]
    return double(tinyq::element_count(out)) * double(w[1] * w[2] * w[3]);
  }
  if (n.op == Op::Dense) {
    const auto& w = g.value(n.inputs[1]).shape;  // [O,K]
    return double(tinyq::element_count(out)) * double(w[1]);
  }
  return 0;
}

// One instrumented pass over `batches`; returns the breakdown as JSON.
json profile_pass(const tinyq::Graph& graph, const tinyq::FloatExecutor& exec,
                  const std::vector<tinyq::Tensor>& batches, std::int64_t images) {
  const int threads = exec.threads();
  std::map<tinyq::ValueId, std::size_t> node_of;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) node_of[graph.nodes[i].outputs[0]] = i;
  struct PerThread {
    Clock::time_point last;
    bool started = false;
    std::vector<double> ns;            // per node
    std::vector<std::int64_t> counts;  // samples measured, per node
  };
  std::vector<PerThread> per(static_cast<std::size_t>(threads));
  for (auto& p : per) p.ns.assign(graph.nodes.size(), 0.0), p.counts.assign(graph.nodes.size(), 0);
  std::vector<std::size_t> lookup(graph.values.size(), 0);
  for (auto [v, n] : node_of) lookup[std::size_t(v)] = n;

  auto observer = [&](int thread, std::int64_t, tinyq::ValueId value, std::span<const float>) {
    auto now = Clock::now();
    PerThread& p = per[std::size_t(thread)];
    // The first callback of a run() on a thread measures thread start-up + workspace
    // allocation + the first node: not counted for the node (its per-image cost comes from the
    // other samples), the interval stays in the "outside nodes" share.
    if (p.started) {
      const std::size_t node = lookup[std::size_t(value)];
      p.ns[node] += std::chrono::duration<double, std::nano>(now - p.last).count();
      p.counts[node] += 1;
    }
    p.started = true;
    p.last = now;
  };
  auto t0 = Clock::now();
  for (const auto& b : batches) {
    for (auto& p : per) p.started = false;
    exec.run({b}, observer);
  }
  const double wall_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();

  // Per node: mean over the samples where it was measured, times the number of images.
  std::vector<double> node_ns(graph.nodes.size(), 0.0);
  double busy_ns = 0;
  for (std::size_t i = 0; i < node_ns.size(); ++i) {
    double ns = 0;
    std::int64_t count = 0;
    for (auto& p : per) ns += p.ns[i], count += p.counts[i];
    node_ns[i] = count > 0 ? ns / double(count) * double(images) : 0.0;
    busy_ns += node_ns[i];
  }
  // Thread-seconds available during the pass (wall × workers actually used per call).
  const std::int64_t per_call = batches.front().shape()[0];
  const int workers = int(std::min<std::int64_t>(threads, per_call));
  const double thread_ns = wall_ns * workers;

  std::map<std::string, std::pair<double, int>> by_type;
  json nodes = json::array();
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const auto& n = graph.nodes[i];
    std::string op(tinyq::op_name(n.op));
    by_type[op].first += node_ns[i];
    by_type[op].second += 1;
    json row = {{"node", n.name},
                {"op", op},
                {"out_shape", tinyq::shape_string(graph.value(n.outputs[0]).shape)},
                {"us_per_image", node_ns[i] / 1e3 / double(images)},
                {"share", node_ns[i] / thread_ns}};
    if (double m = macs(graph, n); m > 0) {
      row["macs"] = m;
      row["gflops"] = node_ns[i] > 0 ? 2.0 * m * double(images) / node_ns[i] : 0.0;
    }
    if (n.attrs.has("act_min") || n.attrs.has("act_max")) row["fused_clamp"] = true;
    nodes.push_back(row);
  }
  json types = json::array();
  std::vector<std::pair<std::string, std::pair<double, int>>> sorted(by_type.begin(), by_type.end());
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second.first > b.second.first; });
  for (auto& [op, v] : sorted)
    types.push_back({{"op", op},
                     {"nodes", v.second},
                     {"us_per_image", v.first / 1e3 / double(images)},
                     {"share", v.first / thread_ns}});
  types.push_back({{"op", "(outside nodes)"},
                   {"nodes", 0},
                   {"us_per_image", (thread_ns - busy_ns) / 1e3 / double(images)},
                   {"share", (thread_ns - busy_ns) / thread_ns}});
  return {{"wall_ms", wall_ns / 1e6},
          {"workers", workers},
          {"img_per_s", double(images) / (wall_ns / 1e9)},
          {"by_op", types},
          {"nodes", nodes}};
}

void print_profile_text(const std::string& model, const json& p) {
  std::printf("  profile of %s (one instrumented pass, %.1f ms wall, %d worker(s); share = of worker time)\n",
              model.c_str(), p["wall_ms"].get<double>(), p["workers"].get<int>());
  std::printf("    %-18s %5s %12s %7s\n", "op", "nodes", "us/image", "share");
  for (auto& t : p["by_op"])
    std::printf("    %-18s %5d %12.2f %6.1f%%\n", t["op"].get<std::string>().c_str(), t["nodes"].get<int>(),
                t["us_per_image"].get<double>(), 100 * t["share"].get<double>());
  std::printf("    %-28s %-14s %-18s %10s %7s %8s\n", "node", "op", "out (NHWC)", "us/image", "share", "GFLOP/s");
  for (auto& n : p["nodes"])
    std::printf("    %-28s %-14s %-18s %10.2f %6.1f%% %8s\n", n["node"].get<std::string>().substr(0, 28).c_str(),
                (n["op"].get<std::string>() + (n.contains("fused_clamp") ? "+clamp" : "")).c_str(),
                n["out_shape"].get<std::string>().c_str(), n["us_per_image"].get<double>(),
                100 * n["share"].get<double>(),
                n.contains("gflops") ? std::to_string(int(std::lround(n["gflops"].get<double>()))).c_str() : "");
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    tinyq::Tensor all = tinyq::fashion_mnist(false, false);
    tinyq::Tensor all_labels = tinyq::fashion_mnist(false, true);
    const std::int64_t n = std::min(args.images, all.shape()[0]);
    std::vector<std::int64_t> labels = all_labels.as_i64();
    labels.resize(std::size_t(n));
    std::vector<tinyq::Tensor> batches;
    for (std::int64_t first = 0; first < n; first += args.batch)
      batches.push_back(rows(all, first, std::min(args.batch, n - first)));
    const double calls = double(batches.size());

    for (const auto& path : args.models) {
      auto load_start = Clock::now();
      tinyq::Graph graph = tinyq::import_onnx_file(path);
      tinyq::simplify(graph);
      tinyq::FloatExecutor exec(graph, {.threads = args.threads});
      const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - load_start).count();

      std::vector<tinyq::Tensor> outputs(batches.size());
      auto pass = [&] {
        for (std::size_t i = 0; i < batches.size(); ++i) outputs[i] = exec.run({batches[i]})[0];
      };
      for (std::int64_t i = 0, done = 0; i == 0 || done < args.warmup_images; ++i) {
        const auto& b = batches[std::size_t(i) % batches.size()];
        exec.run({b});
        done += b.shape()[0];
      }
      std::vector<double> ips, ms_call;
      for (int r = 0; r < args.repeats; ++r) {
        auto t0 = Clock::now();
        pass();
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        ips.push_back(double(n) / s);
        ms_call.push_back(s * 1e3 / calls);
      }

      // Outputs of the last pass, concatenated: [n, classes].
      const std::int64_t classes = outputs[0].numel() / outputs[0].shape()[0];
      tinyq::Tensor scores(tinyq::DType::f32, {n, classes});
      {
        float* dst = scores.f32().data();
        for (auto& o : outputs) dst = std::copy(o.f32().begin(), o.f32().end(), dst);
      }
      const double top1 = tinyq::top_k_accuracy(scores, labels, 1);
      if (!args.dump_dir.empty()) {
        std::filesystem::create_directories(args.dump_dir);
        std::ofstream f(std::filesystem::path(args.dump_dir) / (stem(path) + ".f32"), std::ios::binary);
        f.write(reinterpret_cast<const char*>(scores.f32().data()), std::streamsize(scores.byte_size()));
      }

      json r = {{"engine", "tinyq"},
                {"model", stem(path)},
                {"threads", args.threads},
                {"batch", args.batch},
                {"images", n},
                {"repeats", args.repeats},
                {"calls_per_pass", batches.size()},
                {"median_img_per_s", median(ips)},
                {"min_img_per_s", *std::min_element(ips.begin(), ips.end())},
                {"max_img_per_s", *std::max_element(ips.begin(), ips.end())},
                {"median_ms_per_call", median(ms_call)},
                {"runs_img_per_s", ips},
                {"top1", top1},
                {"load_ms", load_ms},
                {"nodes", graph.nodes.size()}};
      json prof;
      if (args.profile) {
        prof = profile_pass(graph, exec, batches, n);
        r["profile"] = prof;
      }
      if (args.json) {
        std::cout << r.dump() << std::endl;
      } else {
        std::printf("%-16s threads %d batch %-5lld %10.1f img/s (min %.1f, max %.1f) %9.3f ms/call  top-1 %.4f\n",
                    stem(path).c_str(), args.threads, static_cast<long long>(args.batch), median(ips),
                    r["min_img_per_s"].get<double>(), r["max_img_per_s"].get<double>(), median(ms_call), top1);
        if (args.profile) print_profile_text(stem(path), prof);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_float_throughput: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
