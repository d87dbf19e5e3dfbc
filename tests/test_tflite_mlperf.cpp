// The MLPerf Tiny reference models (the field's benchmark .tflite files) through the importer.
// They are not in the repository: the tests read them from the folder named by the environment
// variable TINYQ_MLPERF_TINY (holding models/, samples/, tflm/) and are skipped, saying why,
// when it is unset or incomplete.
//
// Inputs are the 8 int8 samples of tflm/<bench>_input.npy dequantized with the int8 model's
// input scale and zero point (the float models take the same real values). Reference float
// outputs below come from the format's own runtime: LiteRT.js (@litertjs/core 2.5.3, TFLite
// compiled to WebAssembly) run on those inputs with each float model.
#include <cstdlib>
#include <filesystem>

#include "data/npy.hpp"
#include "ir/model_stats.hpp"
#include "passes/passes.hpp"
#include "test_tflite_reference.hpp"

namespace {

namespace fs = std::filesystem;
using namespace tinyq_tflite_test;

class TfliteMlperfTiny : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("TINYQ_MLPERF_TINY");
    if (!dir || !*dir) GTEST_SKIP() << "TINYQ_MLPERF_TINY is not set (folder with MLPerf Tiny's models/ and tflm/)";
    root_ = dir;
    if (!fs::is_directory(root_ / "models") || !fs::is_directory(root_ / "tflm"))
      GTEST_SKIP() << "TINYQ_MLPERF_TINY=" << root_ << " has no models/ and tflm/ folders";
  }
  std::string model(const std::string& name) const { return (root_ / "models" / name).string(); }

  // The 8 TFLM samples of a benchmark as real values: int8 dequantized with `int8_model`'s
  // input quantization (read through the parse layer).
  tinyq::Tensor samples(const std::string& bench, const std::string& int8_model) const {
    const auto m = tinyq::tflite::read_tflite(model(int8_model));
    const auto& q = m.tensors.at(std::size_t(m.inputs.at(0))).quant;
    EXPECT_TRUE(q.present());
    const tinyq::Tensor raw = tinyq::read_npy((root_ / "tflm" / (bench + "_input.npy")).string());
    EXPECT_EQ(raw.dtype(), tinyq::DType::i8);
    tinyq::Tensor real(tinyq::DType::f32, raw.shape());
    auto in = raw.data<std::int8_t>();
    for (std::size_t i = 0; i < in.size(); ++i)
      real.f32()[i] = q.scale[0] * float(std::int64_t(in[i]) - q.zero_point[0]);
    return real;
  }

  // Imports as the CLI does (import, then the simplification passes) and runs all samples.
  static std::vector<float> outputs(const std::string& path, const tinyq::Tensor& x) {
    tinyq::Graph g = tinyq::import_tflite_file(path);
    tinyq::simplify(g);
    tinyq::FloatExecutor executor(g, {1});
    auto out = executor.run({x});
    auto v = out.at(0).f32();
    return {v.begin(), v.end()};
  }

  static int argmax(const std::vector<float>& v, std::size_t row, std::size_t classes) {
    auto first = v.begin() + std::ptrdiff_t(row * classes);
    return int(std::max_element(first, first + std::ptrdiff_t(classes)) - first);
  }

  fs::path root_;
};

// Every .tflite file of the benchmark (nine: SWW has no float .tflite) imports; their
// multiply-accumulates per inference are the benchmark's
// published figures (so no layer is lost or misread).
TEST_F(TfliteMlperfTiny, EveryModelImports) {
  const std::pair<const char*, std::int64_t> models[] = {
      {"kws_ref_model.tflite", 2656768},
      {"kws_ref_model_float32.tflite", 2656768},
      {"vww_96_int8.tflite", 7489664},
      {"vww_96_float.tflite", 7489664},
      {"pretrainedResnet_quant.tflite", 12501632},
      {"pretrainedResnet.tflite", 12501632},
      {"ad01_int8.tflite", 264192},
      {"ad01_fp32.tflite", 264192},
      {"str_ww_ref_model.tflite", 826368},
  };
  int imported = 0;
  for (const auto& [name, macs] : models) {
    SCOPED_TRACE(name);
    tinyq::Graph g = tinyq::import_tflite_file(model(name));
    tinyq::simplify(g);
    EXPECT_EQ(tinyq::compute_stats(g).macs, macs);
    ++imported;
  }
  EXPECT_EQ(imported, 9);
}

// Float models against the format's runtime (values in the header comment).
TEST_F(TfliteMlperfTiny, FloatModelsMatchTfliteRuntime) {
  const std::vector<float> vww_reference{
      0.89916599f, 0.10083406f, 0.93132454f, 0.068675488f, 0.93371296f, 0.066287063f, 0.97348750f, 0.026512479f,
      0.83219701f, 0.16780302f, 0.85800856f, 0.14199148f,  0.81472820f, 0.18527174f,  0.96963632f, 0.030363647f};
  const std::vector<float> ic_reference{
      0.047671422f,     0.045498215f,    0.57367909f,      0.0061870459f,   0.000024537807f,  0.018199805f,
      0.023844283f,     9.9777344e-7f,   0.0000071870454f, 0.28488743f,     0.00018620281f,   0.072966948f,
      0.027984923f,     0.0048745885f,   0.019596513f,     0.0052075037f,   0.72864211f,      0.00061730831f,
      0.0000014069838f, 0.13992250f,     0.096302442f,     0.011566360f,    0.093213037f,     0.15264958f,
      0.071350649f,     0.028428826f,    0.12702264f,      0.00050682388f,  0.16663741f,      0.25232220f,
      0.00020756834f,   4.4310539e-7f,   0.99260908f,      0.00019906730f,  0.0000051917164f, 0.0068530068f,
      0.0000041383755f, 0.000019236768f, 8.3920474e-7f,    0.00010142929f,  0.0015540892f,    0.000039203904f,
      0.060410451f,     0.65336013f,     0.16326986f,      0.016291674f,    0.094106302f,     0.000073965173f,
      0.010817971f,     0.000076269062f, 0.021489698f,     0.029108718f,    0.68024403f,      0.10984038f,
      0.049761660f,     0.083092466f,    0.014881073f,     0.000074277174f, 0.000033023633f,  0.011474646f,
      0.022540446f,     0.0013546858f,   0.027444700f,     0.45991018f,     0.36751255f,      0.0045467690f,
      0.10411505f,      0.00074948347f,  0.0023798218f,    0.0094463611f,   0.00092075637f,   0.0000077613795f,
      0.28165680f,      0.24408042f,     0.45972934f,      0.0031792568f,   0.010141593f,     0.0000084450085f,
      0.00027146994f,   0.0000040647083f};
  // Measured: 3.0e-7 (VWW) and 8.3e-7 (IC) largest difference.
  expect_near(outputs(model("vww_96_float.tflite"), samples("vww", "vww_96_int8.tflite")), vww_reference, 1e-5f);
  expect_near(outputs(model("pretrainedResnet.tflite"), samples("ic", "pretrainedResnet_quant.tflite")), ic_reference,
              1e-5f);
}

// KWS's "float32" file is hybrid: its CONV_2D weights are int8 per tensor. tinyq computes with
// the dequantized weights in float; TFLite's hybrid kernels also quantize the activations on
// the fly, hence the looser tolerance (measured: 6.1e-3 largest difference, same top-1).
TEST_F(TfliteMlperfTiny, HybridKwsImportsAsItsFloatFunction) {
  const auto m = tinyq::tflite::read_tflite(model("kws_ref_model_float32.tflite"));
  int int8_weights = 0;
  for (const auto& t : m.tensors) int8_weights += t.has_data && t.type == tinyq::tflite::TensorType::Int8;
  EXPECT_EQ(int8_weights, 5);
  const std::vector<float> reference{
      5.7139702e-9f,  1.4017785e-9f,  1.5289428e-11f, 5.6893509e-12f, 0.000040974319f, 0.99995482f,
      3.0963412e-11f, 3.3602642e-11f, 5.9011590e-8f,  3.8288789e-11f, 3.4261510e-13f,  0.0000041325479f,
      0.025965035f,   0.042661589f,   0.035745401f,   0.010044909f,   0.040845383f,    0.022818107f,
      0.039545517f,   0.39098147f,    0.10935348f,    0.0087732095f,  0.000090333102f, 0.27317560f,
      0.0051255217f,  0.014072320f,   0.0092844320f,  0.0019718008f,  0.055097267f,    0.032230757f,
      0.012807724f,   0.59101844f,    0.15800771f,    0.0018022998f,  0.000017214334f, 0.11856444f,
      0.030699523f,   0.022028685f,   0.083052889f,   0.010029106f,   0.083299898f,    0.062189002f,
      0.10269535f,    0.25651154f,    0.067441516f,   0.0079632476f,  0.000089425186f, 0.27399975f,
      0.0020959305f,  0.0078056697f,  0.24302600f,    0.0051201447f,  0.049943559f,    0.014390038f,
      0.14539081f,    0.10087787f,    0.13354278f,    0.0048059560f,  0.00087281450f,  0.29212841f,
      0.0044614035f,  0.040417396f,   0.080999687f,   0.0096855843f,  0.019478483f,    0.015090100f,
      0.40687650f,    0.026926395f,   0.13608301f,    0.00085820479f, 0.00036186684f,  0.25876132f,
      0.016253836f,   0.022636350f,   0.067569591f,   0.011146256f,   0.18791561f,     0.031767115f,
      0.020714143f,   0.21882136f,    0.099844232f,   0.025825592f,   0.000043199270f, 0.29746264f,
      0.0021103900f,  0.021813558f,   0.025928760f,   0.0027924788f,  0.036671922f,    0.014027338f,
      0.011193685f,   0.77949661f,    0.031947777f,   0.0038469250f,  0.000049550788f, 0.070121050f};
  const auto got = outputs(model("kws_ref_model_float32.tflite"), samples("kws", "kws_ref_model.tflite"));
  expect_near(got, reference, 1e-2f);
  for (std::size_t s = 0; s < 8; ++s) EXPECT_EQ(argmax(got, s, 12), argmax(reference, s, 12)) << "sample " << s;
}

// The int8 model dequantized is the float model up to quantization noise: the same top-1 on
// every sample, outputs within the tolerances measured here (VWW 0.017, IC 0.044 largest
// difference of a softmax output).
TEST_F(TfliteMlperfTiny, Int8ModelsAgreeWithTheirFloatModels) {
  struct Pair {
    const char *bench, *int8_model, *float_model;
    std::size_t classes;
    float tolerance;
  };
  for (const Pair& p : {Pair{"vww", "vww_96_int8.tflite", "vww_96_float.tflite", 2, 0.03f},
                        Pair{"ic", "pretrainedResnet_quant.tflite", "pretrainedResnet.tflite", 10, 0.06f}}) {
    SCOPED_TRACE(p.bench);
    const tinyq::Tensor x = samples(p.bench, p.int8_model);
    const auto q = outputs(model(p.int8_model), x), f = outputs(model(p.float_model), x);
    ASSERT_EQ(q.size(), 8 * p.classes);
    expect_near(q, f, p.tolerance);
    for (std::size_t s = 0; s < 8; ++s) EXPECT_EQ(argmax(q, s, p.classes), argmax(f, s, p.classes)) << "sample " << s;
  }
}

// SWW: int8 only, dynamic batch (-1). Its dequantized float function against TFLite Micro's
// int8 outputs (dequantized): same top-1, within 0.01 (measured 0.0039).
TEST_F(TfliteMlperfTiny, DynamicBatchSwwRunsAllSamples) {
  const std::string path = model("str_ww_ref_model.tflite");
  const tinyq::Graph g = tinyq::import_tflite_file(path);
  EXPECT_EQ(g.value(g.inputs.at(0)).shape, (tinyq::Shape{1, 30, 1, 40}));
  const auto got = outputs(path, samples("sww", "str_ww_ref_model.tflite"));
  const auto m = tinyq::tflite::read_tflite(path);
  const auto& q = m.tensors.at(std::size_t(m.outputs.at(0))).quant;
  const tinyq::Tensor tflm = tinyq::read_npy((root_ / "tflm" / "sww_output.npy").string());
  std::vector<float> want;
  for (auto v : tflm.data<std::int8_t>()) want.push_back(q.scale[0] * float(std::int64_t(v) - q.zero_point[0]));
  expect_near(got, want, 0.01f);
  for (std::size_t s = 0; s < 8; ++s) EXPECT_EQ(argmax(got, s, 3), argmax(want, s, 3)) << "sample " << s;
}

}  // namespace
