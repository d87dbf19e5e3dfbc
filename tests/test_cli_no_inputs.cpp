// A model without inputs (its outputs are constants, as in ONNX's test_constant): `run` computes
// them without --input, and every command that would feed data says in one line that the model
// has no inputs. Likewise a model whose input is declared empty (a 0 dimension): `run` passes
// the empty tensor through, `quantize` has nothing to calibrate on and says so.
#include "cli_fixture.hpp"
#include "data/npy.hpp"
#include "onnx_builder.hpp"

namespace tinyq::testing {
namespace {

class CliNoInputs : public Cli {
 protected:
  // y = Relu(Constant [2,3] of -3..2 step 1) = [0,0,0,0,1,2], through a node that simplify folds.
  fs::path model() {
    OnnxBuilder b;
    b.output("y");
    auto& constant = b.node("Constant", {}, {"c"}, "values");
    auto* attr = constant.add_attribute();
    attr->set_name("value");
    attr->set_type(onnx::AttributeProto::TENSOR);
    auto* t = attr->mutable_t();
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(2);
    t->add_dims(3);
    for (float v : {-3.0f, -2.0f, -1.0f, 0.0f, 1.0f, 2.0f}) t->add_float_data(v);
    b.node("Relu", {"c"}, {"y"}, "relu");
    return write("constant.onnx", b.bytes());
  }
};

TEST_F(CliNoInputs, RunWritesTheConstantOutputsWithoutInputData) {
  const fs::path out = dir_ / "y.npy";
  const Result r = run_argv({"run", model().string(), "-o", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const Tensor y = read_npy(out.string());
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  const std::vector<float> want{0, 0, 0, 0, 1, 2};
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(y.f32()[i], want[i]) << i;
}

TEST_F(CliNoInputs, CommandsThatFeedDataSayTheModelHasNoInputs) {
  const fs::path m = model();
  const auto data = write_npy("x.npy", {4, 2, 3});
  expect_bad_input(run_argv({"run", m.string(), "-i", data.string(), "-o", (dir_ / "y.npy").string()}),
                   "--input: the model has no inputs");
  expect_bad_input(run_argv({"quantize", m.string(), "--calib", data.string(), "-o", (dir_ / "m.tqm").string()}),
                   "--calib: the model has no inputs");
  expect_bad_input(run_argv({"eval", m.string(), "--data", data.string(), "--labels", data.string()}),
                   "--data: the model has no inputs");
  EXPECT_FALSE(fs::exists(dir_ / "y.npy"));
  EXPECT_FALSE(fs::exists(dir_ / "m.tqm"));
}

TEST_F(CliNoInputs, AnEmptyInputRunsThroughAndCannotBeCalibrated) {
  OnnxBuilder b(14);
  b.input("x", {0, 3}).output("y");
  b.int_initializer("shape", {3, 0});
  OnnxBuilder::set_int(b.node("Reshape", {"x", "shape"}, {"y"}, "reshape"), "allowzero", 1);
  const fs::path m = write("empty_input.onnx", b.bytes());
  const auto empty = write_npy("empty.npy", {0, 3});
  const fs::path out = dir_ / "y.npy";
  const Result r = run_argv({"run", m.string(), "-i", empty.string(), "-o", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_npy(out.string()).shape(), (Shape{3, 0}));
  const auto data = write_npy("x.npy", {4, 3});
  expect_bad_input(run_argv({"quantize", m.string(), "--calib", data.string(), "-o", (dir_ / "m.tqm").string()}),
                   "the model input 'x' has shape [0,3], an empty tensor");
}

}  // namespace
}  // namespace tinyq::testing
