// Hostile and unsupported Keras files through the CLI: exit code 2 and exactly one line on
// stderr naming the file and, where it applies, the layer (name and class). The files come
// from tests/keras/make_h5.py (bad_*.h5); a few are made here.
#include <gtest/gtest.h>

#include "cli_fixture.hpp"
#include "frontend/keras/keras_import.hpp"
#include "keras/keras_test_data.hpp"
#include "util/error.hpp"

namespace {

using namespace tinyq::testing;

struct BadCase {
  const char* file;
  const char* message;  // must appear in the one error line
};

// How gtest names a case in ctest's list (instead of the struct's bytes).
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.file; }

// The parameter name is the file; the message names what is wrong (and the layer).
const BadCase kCases[] = {
    {"bad_truncated", "not a readable HDF5 file (HDF5: truncated file"},
    {"bad_garbage", "not a readable HDF5 file"},
    // libhdf5 1.10 crashes on it (then: "libhdf5 crashed reading the file"); a fixed libhdf5
    // reports it some other way. Either way: exit 2, one line naming the file.
    {"bad_heap", ""},
    {"bad_weights_only", "has no model_config attribute"},
    {"bad_json", "model_config is not valid JSON"},
    {"bad_deep_json", "model_config nests deeper than"},
    {"bad_subclassed", "model class 'MyModel' is not supported"},
    {"bad_kernel_shape",
     "layer 'conv2d' (Conv2D): weight 'conv2d/kernel:0' has shape [3,3,2,4], but the layer's "
     "configuration needs [3,3,2,3]"},
    {"bad_weight_count", "layer 'dense' (Dense): the file holds 1 weights for it"},
    {"bad_weight_order",
     "layer 'batch_normalization' (BatchNormalization): weight 0 in the file is "
     "'batch_normalization/beta:0' where Keras saves 'gamma'"},
    {"bad_nan_weight", "layer 'dense' (Dense): weight 'dense/kernel:0' holds nan"},
    {"bad_missing_weights", "layer 'dense' (Dense): the file holds 0 weights"},
    {"bad_unsupported_layer", "layer 'flatten' (Embedding): layer class 'Embedding' is not supported"},
    {"bad_channels_first", "layer 'conv2d' (Conv2D): data_format channels_first is not supported"},
    {"bad_huge_input", "layer 'input' (InputLayer): shape [1,100000,100000,2] has more than 2^31 elements"},
    {"bad_huge_units", "layer 'dense' (Dense): 'units' is 1099511627776, outside"},
    {"bad_none_dim", "layer 'input' (InputLayer): dimension 1 is unknown (None)"},
    {"bad_cycle", "layer 'conv2d' (Conv2D): is part of a cycle in the layer graph"},
    {"bad_unknown_input", "layer 'flatten' (Flatten): refers to layer 'nowhere'"},
    {"bad_bad_activation", "layer 'dense' (Dense): activation 'mish' is not supported"},
    {"bad_kernel_size_type", "layer 'conv2d' (Conv2D): 'kernel_size' must be an integer or a list of 2"},
    {"bad_relu_threshold", "layer 'flatten' (ReLU): threshold 0.5 is not supported"},
    {"bad_keras3", "Keras 3.1.0 files are not supported"},
    {"bad_string_weight", "layer 'dense' (Dense): weight 'dense/bias:0' is not a float or integer array"},
    {"bad_stateful", "layer 'lstm' (LSTM): stateful = true is not supported: tinyq starts every inference from a zero"},
    {"bad_stateful_gru", "layer 'gru' (GRU): stateful = true is not supported"},
    {"bad_stateful_simple_rnn", "layer 'simple_rnn' (SimpleRNN): stateful = true is not supported"},
    {"bad_stateful_bidirectional", "layer 'bidirectional' (LSTM): stateful = true is not supported"},
    {"bad_hard_sigmoid", "layer 'lstm' (LSTM): recurrent_activation 'hard_sigmoid' is not supported"},
    {"bad_return_state", "layer 'lstm' (LSTM): return_state = true is not supported"},
};

class KerasBadFile : public Cli, public ::testing::WithParamInterface<BadCase> {
 protected:
  void SetUp() override {
    Cli::SetUp();
    std::string why;
    cases_ = tinyq::keras_testing::generated_cases(&why);
    if (cases_.empty()) GTEST_SKIP() << why;
  }
  fs::path cases_;
};

TEST_P(KerasBadFile, ExitTwoWithOneLineNamingTheProblem) {
  const BadCase c = GetParam();
  const std::string path = (cases_ / (std::string(c.file) + ".h5")).string();
  for (const char* command : {"inspect", "run"}) {
    std::vector<std::string> args{command, path};
    if (std::string(command) == "run") {
      args.insert(args.end(), {"-i", write_npy("x.npy", {1, 4, 4, 2}).string(), "-o", (dir_ / "y.npy").string()});
    }
    const Result r = run_argv(args);
    expect_bad_input(r, path + ": " + c.message);
    EXPECT_FALSE(fs::exists(dir_ / "y.npy"));
  }
  // The importer itself throws tinyq::Error (what the CLI turns into exit 2), nothing else.
  EXPECT_THROW(tinyq::import_keras_file(path), tinyq::Error);
}

INSTANTIATE_TEST_SUITE_P(Generated, KerasBadFile, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.file); });

// Files that need no Python: an empty file, a folder, the HDF5 signature alone.
class KerasBadPlainFile : public Cli {};

TEST_F(KerasBadPlainFile, SignatureOnlyEmptyAndFolder) {
  const fs::path signature = write("signature.h5", std::string("\x89HDF\r\n\x1a\n", 8));
  expect_bad_input(run_argv({"inspect", signature.string()}), signature.string() + ": not a readable HDF5 file");
  EXPECT_THROW(tinyq::import_keras_file(signature.string()), tinyq::Error);
  const fs::path empty = write("empty.h5", "");
  EXPECT_THROW(tinyq::import_keras_file(empty.string()), tinyq::Error);
  EXPECT_THROW(tinyq::import_keras_file(dir_.string()), tinyq::Error);
  EXPECT_THROW(tinyq::import_keras_file((dir_ / "absent.h5").string()), tinyq::Error);
}

}  // namespace
