// Dataset loading: format dispatch, scaling, mean/std normalisation, label checks and the
// real Fashion-MNIST test set.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using tinyq::DType;
using tinyq::Preprocess;
using tinyq::Shape;
using tinyq::Tensor;

namespace {

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("tinyq_test_dataset_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }
  static void write_gz(const std::string& path, const std::string& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    if (!bytes.empty()) {
      ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
    }
    ASSERT_EQ(gzclose(f), Z_OK);
  }
  static std::string idx_u8(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data) {
    std::string out{'\0', '\0', '\x08', char(dims.size())};
    for (auto d : dims)
      for (int i = 3; i >= 0; --i) out += char((d >> (8 * i)) & 0xff);
    out.append(reinterpret_cast<const char*>(data.data()), data.size());
    return out;
  }
  std::string npy_u8(const std::string& name, Shape shape, const std::vector<std::int64_t>& values) {
    const std::string file = path(name);
    tinyq::write_npy(file, Tensor::from_i64(std::move(shape), values).cast(DType::u8));
    return file;
  }
  std::string npy_f32(const std::string& name, Shape shape, const std::vector<float>& values) {
    const std::string file = path(name);
    tinyq::write_npy(file, Tensor::from_floats(std::move(shape), values));
    return file;
  }
  std::string npy_i64(const std::string& name, Shape shape, const std::vector<std::int64_t>& values,
                      DType type = DType::i64) {
    const std::string file = path(name);
    tinyq::write_npy(file, Tensor::from_i64(std::move(shape), values).cast(type));
    return file;
  }

  template <typename F>
  static void expect_error(F&& f, const std::string& where, const std::string& fragment) {
    try {
      f();
      ADD_FAILURE() << "no tinyq::Error for " << where << " (expected '" << fragment << "')";
    } catch (const tinyq::Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(e.where(), where) << what;
      EXPECT_NE(what.find(where), std::string::npos) << what;
      EXPECT_NE(what.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }

  fs::path dir_;
};

std::vector<float> values_of(const Tensor& t) { return {t.f32().begin(), t.f32().end()}; }

// ---- samples ----

TEST_F(DatasetTest, Uint8NpyIsScaledBy1Over255ByDefault) {
  const auto file = npy_u8("x.npy", {2, 2}, {0, 51, 255, 128});
  const Tensor t = tinyq::load_samples(file, Preprocess{});
  EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_EQ(t.shape(), (Shape{2, 2}));
  EXPECT_FLOAT_EQ(t.f32()[0], 0.0f);
  EXPECT_FLOAT_EQ(t.f32()[1], 0.2f);
  EXPECT_FLOAT_EQ(t.f32()[2], 1.0f);
  EXPECT_FLOAT_EQ(t.f32()[3], 128.0f / 255);
}

TEST_F(DatasetTest, Uint8UsesCustomScale) {
  const auto file = npy_u8("x.npy", {3}, {0, 2, 255});
  Preprocess p;
  p.scale = 1.0f;
  EXPECT_EQ(values_of(tinyq::load_samples(file, p)), (std::vector<float>{0, 2, 255}));
  p.scale = 0.5f;
  EXPECT_EQ(values_of(tinyq::load_samples(file, p)), (std::vector<float>{0, 1, 127.5f}));
}

TEST_F(DatasetTest, FloatDataIsNotScaled) {
  const auto file = npy_f32("x.npy", {1, 3}, {0.5f, 200.0f, -3.0f});
  Preprocess p;
  p.scale = 0.001f;
  EXPECT_EQ(values_of(tinyq::load_samples(file, p)), (std::vector<float>{0.5f, 200.0f, -3.0f}));
}

TEST_F(DatasetTest, Float64NpyIsLoadedAsFloat32Unscaled) {
  const std::vector<double> values = {1.5, 250.0};
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += char(header.size());
  bytes += '\0';
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), 16);
  write_file(path("d.npy"), bytes);
  EXPECT_EQ(values_of(tinyq::load_samples(path("d.npy"), Preprocess{})), (std::vector<float>{1.5f, 250.0f}));
}

TEST_F(DatasetTest, IntegerNpyIsConvertedUnscaled) {
  const auto file = npy_i64("x.npy", {3}, {-3, 0, 1000}, DType::i32);
  EXPECT_EQ(values_of(tinyq::load_samples(file, Preprocess{})), (std::vector<float>{-3, 0, 1000}));
}

TEST_F(DatasetTest, SingleMeanAndStdApplyToEveryElement) {
  const auto file = npy_f32("x.npy", {2, 3}, {1, 2, 3, 4, 5, 6});
  Preprocess p;
  p.mean = {3.0f};
  p.std = {2.0f};
  EXPECT_EQ(values_of(tinyq::load_samples(file, p)), (std::vector<float>{-1, -0.5f, 0, 0.5f, 1, 1.5f}));
}

TEST_F(DatasetTest, MeanWithoutStdOnlySubtracts) {
  const auto file = npy_f32("x.npy", {2}, {1, 2});
  Preprocess p;
  p.mean = {1.0f};
  EXPECT_EQ(values_of(tinyq::load_samples(file, p)), (std::vector<float>{0, 1}));
  p.mean.clear();
  p.std = {4.0f};
  EXPECT_EQ(values_of(tinyq::load_samples(file, p)), (std::vector<float>{0.25f, 0.5f}));
}

TEST_F(DatasetTest, PerChannelMeanAndStdUseAxis1OfNCHW) {
  // N=2, C=3, H=1, W=2: each channel holds the value 10*(c+1) + n.
  std::vector<float> x;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 2; ++k) x.push_back(float(10 * (c + 1) + n));
  const auto file = npy_f32("x.npy", {2, 3, 1, 2}, x);
  Preprocess p;
  p.mean = {10, 20, 30};
  p.std = {1, 2, 4};
  const Tensor t = tinyq::load_samples(file, p);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 1, 2}));
  EXPECT_EQ(values_of(t), (std::vector<float>{0, 0, 0, 0, 0, 0, 1, 1, 0.5f, 0.5f, 0.25f, 0.25f}));
}

// NHWC images (TFLite, Keras): with channels_last the per-channel values follow the last axis.
// The same data read with axis 1 would be refused (H = 1 is not 3 channels).
TEST_F(DatasetTest, PerChannelMeanAndStdUseTheLastAxisWithChannelsLast) {
  // N=2, H=1, W=2, C=3: each channel holds 10*(c+1) + n.
  std::vector<float> x;
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 2; ++k)
      for (int c = 0; c < 3; ++c) x.push_back(float(10 * (c + 1) + n));
  const auto file = npy_f32("x.npy", {2, 1, 2, 3}, x);
  Preprocess p;
  p.mean = {10, 20, 30};
  p.std = {1, 2, 4};
  expect_error([&] { tinyq::load_samples(file, p); }, file, "NHWC data: --channels-last");
  p.channels_last = true;
  const Tensor t = tinyq::load_samples(file, p);
  EXPECT_EQ(t.shape(), (Shape{2, 1, 2, 3}));
  EXPECT_EQ(values_of(t), (std::vector<float>{0, 0, 0, 0, 0, 0, 1, 0.5f, 0.25f, 1, 0.5f, 0.25f}));
}

TEST_F(DatasetTest, PerChannelMeanAndStdOnNxC) {
  const auto file = npy_f32("x.npy", {2, 2}, {1, 10, 3, 30});
  Preprocess p;
  p.mean = {1, 10};
  p.std = {2, 10};
  EXPECT_EQ(values_of(tinyq::load_samples(file, p)), (std::vector<float>{0, 0, 1, 2}));
}

TEST_F(DatasetTest, ScaleAppliesBeforeMeanAndStd) {
  const auto file = npy_u8("x.npy", {1, 1, 2}, {0, 255});
  Preprocess p;
  p.mean = {0.5f};
  p.std = {0.5f};
  EXPECT_EQ(values_of(tinyq::load_samples(file, p)), (std::vector<float>{-1, 1}));
}

TEST_F(DatasetTest, RejectsPerChannelCountThatDoesNotMatchChannels) {
  const auto file = npy_f32("x.npy", {1, 2, 2}, {1, 2, 3, 4});
  Preprocess p;
  p.mean = {0.1f, 0.2f, 0.3f};
  expect_error([&] { tinyq::load_samples(file, p); }, file, "--mean has 3 values but the data has 2 channels");
  p.mean.clear();
  p.std = {1, 2, 3};
  expect_error([&] { tinyq::load_samples(file, p); }, file, "--std has 3 values");
}

TEST_F(DatasetTest, RejectsPerChannelValuesForDataWithoutChannelAxis) {
  const auto file = npy_f32("x.npy", {3}, {1, 2, 3});
  Preprocess p;
  p.mean = {1, 2, 3};
  expect_error([&] { tinyq::load_samples(file, p); }, file, "no channel axis");
}

TEST_F(DatasetTest, RejectsZeroStd) {
  const auto file = npy_f32("x.npy", {1, 2}, {1, 2});
  Preprocess p;
  p.std = {1, 0};
  expect_error([&] { tinyq::load_samples(file, p); }, "--std", "must be a finite number > 0");
}

TEST_F(DatasetTest, IdxImagesGainAChannelAxis) {
  std::vector<std::uint8_t> pixels(2 * 3 * 4);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = std::uint8_t(i * 10);
  const std::string file = path("train-images-idx3-ubyte.gz");
  write_gz(file, idx_u8({2, 3, 4}, pixels));
  const Tensor t = tinyq::load_samples(file, Preprocess{});
  EXPECT_EQ(t.shape(), (Shape{2, 1, 3, 4}));
  for (std::size_t i = 0; i < pixels.size(); ++i) EXPECT_FLOAT_EQ(t.f32()[i], pixels[i] / 255.0f);
}

TEST_F(DatasetTest, IdxOneChannelAcceptsSingleValueMeanStd) {
  const std::string file = path("images-idx3-ubyte");
  write_file(file, idx_u8({1, 1, 2}, {0, 255}));
  Preprocess p;
  p.mean = {0.5f};
  p.std = {0.25f};
  const Tensor t = tinyq::load_samples(file, p);
  EXPECT_EQ(t.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ(values_of(t), (std::vector<float>{-2, 2}));
}

TEST_F(DatasetTest, NpyImagesKeepTheirShape) {
  const auto file = npy_u8("x.npy", {1, 2, 2}, {0, 0, 0, 0});
  EXPECT_EQ(tinyq::load_samples(file, Preprocess{}).shape(), (Shape{1, 2, 2}));
}

TEST_F(DatasetTest, DetectsFormatByContentWhateverTheName) {
  const std::string npy = npy_f32("samples.npy", {1, 2}, {1, 2});
  fs::rename(npy, path("samples.bin"));
  EXPECT_EQ(values_of(tinyq::load_samples(path("samples.bin"), Preprocess{})), (std::vector<float>{1, 2}));

  write_file(path("raw.dat"), idx_u8({1, 2}, {0, 255}));
  EXPECT_EQ(tinyq::load_samples(path("raw.dat"), Preprocess{}).shape(), (Shape{1, 2}));
  write_gz(path("zipped.dat"), idx_u8({1, 2}, {0, 255}));
  EXPECT_EQ(tinyq::load_samples(path("zipped.dat"), Preprocess{}).shape(), (Shape{1, 2}));
}

TEST_F(DatasetTest, IdxNameWithBadContentReportsIdxError) {
  const std::string file = path("broken-ubyte");
  write_file(file, "hello world");
  expect_error([&] { tinyq::load_samples(file, Preprocess{}); }, file, "not an IDX file");
}

TEST_F(DatasetTest, NpyNameWithBadContentReportsNpyError) {
  const std::string file = path("broken.npy");
  write_file(file, "hello world");
  expect_error([&] { tinyq::load_samples(file, Preprocess{}); }, file, "not an NPY file");
}

TEST_F(DatasetTest, RejectsUnrecognisedFile) {
  const std::string file = path("data.csv");
  write_file(file, "1,2,3\n");
  expect_error([&] { tinyq::load_samples(file, Preprocess{}); }, file, "unrecognised data file");
}

TEST_F(DatasetTest, RejectsGzippedNpy) {
  const std::string file = path("x.npy.gz");
  write_gz(file, "\x93NUMPY");
  expect_error([&] { tinyq::load_samples(file, Preprocess{}); }, file, "gzipped .npy");
}

TEST_F(DatasetTest, RejectsImageFolder) {
  const std::string folder = path("images");
  fs::create_directories(folder);
  expect_error([&] { tinyq::load_samples(folder, Preprocess{}); }, folder, "image folders are not supported yet");
}

TEST_F(DatasetTest, RejectsMissingFile) {
  const std::string file = path("nope.npy");
  expect_error([&] { tinyq::load_samples(file, Preprocess{}); }, file, "no such file");
}

TEST_F(DatasetTest, RejectsNaNNamingFirstBadIndex) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto file = npy_f32("x.npy", {2, 3}, {0, 1, 2, 3, nan, nan});
  expect_error([&] { tinyq::load_samples(file, Preprocess{}); }, file, "element 4 (sample 1, index 1) is NaN");
}

TEST_F(DatasetTest, RejectsInfNamingFirstBadIndex) {
  const float inf = std::numeric_limits<float>::infinity();
  const auto file = npy_f32("x.npy", {3}, {0, -inf, 1});
  expect_error([&] { tinyq::load_samples(file, Preprocess{}); }, file, "element 1 (sample 1, index 0) is -Inf");
}

TEST_F(DatasetTest, RejectsFloat64OverflowingFloat32AsInf) {
  const std::vector<double> values = {1.0, 1e300};
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += char(header.size());
  bytes += '\0';
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), 16);
  write_file(path("d.npy"), bytes);
  expect_error([&] { tinyq::load_samples(path("d.npy"), Preprocess{}); }, path("d.npy"),
               "element 1 (sample 0, index 1) is infinite or a float64 beyond");
}

TEST_F(DatasetTest, RejectsEmptyAndScalarSamples) {
  const std::string empty = path("e.npy");
  tinyq::write_npy(empty, Tensor(DType::f32, {0, 4}));
  expect_error([&] { tinyq::load_samples(empty, Preprocess{}); }, empty, "no samples");
  const std::string scalar = path("s.npy");
  tinyq::write_npy(scalar, Tensor::scalar(1.0f));
  expect_error([&] { tinyq::load_samples(scalar, Preprocess{}); }, scalar, "scalar");
}

// ---- labels ----

TEST_F(DatasetTest, LoadsLabelsFromEveryIntegerNpyDtype) {
  const std::vector<std::int64_t> labels = {3, 0, 9, 1};
  for (DType type : {DType::i64, DType::i32, DType::i8, DType::u8}) {
    SCOPED_TRACE(tinyq::dtype_name(type));
    EXPECT_EQ(tinyq::load_labels(npy_i64("y.npy", {4}, labels, type)), labels);
  }
}

TEST_F(DatasetTest, LoadsLabelsFromFloatsHoldingIntegers) {
  EXPECT_EQ(tinyq::load_labels(npy_f32("y.npy", {3}, {2.0f, 0.0f, 7.0f})), (std::vector<std::int64_t>{2, 0, 7}));
}

TEST_F(DatasetTest, LoadsNx1Labels) {
  EXPECT_EQ(tinyq::load_labels(npy_i64("y.npy", {3, 1}, {1, 2, 3})), (std::vector<std::int64_t>{1, 2, 3}));
}

TEST_F(DatasetTest, LoadsLabelsFromIdx) {
  const std::string file = path("t10k-labels-idx1-ubyte.gz");
  write_gz(file, idx_u8({4}, {9, 0, 0, 2}));
  EXPECT_EQ(tinyq::load_labels(file), (std::vector<std::int64_t>{9, 0, 0, 2}));
}

TEST_F(DatasetTest, RejectsLabelsThatAreNot1D) {
  const auto file = npy_i64("y.npy", {2, 2}, {1, 2, 3, 4});
  expect_error([&] { tinyq::load_labels(file); }, file, "must be 1-D");
  const std::string scalar = path("s.npy");
  tinyq::write_npy(scalar, Tensor::from_i64({}, std::vector<std::int64_t>{1}));
  expect_error([&] { tinyq::load_labels(scalar); }, scalar, "must be 1-D");
}

TEST_F(DatasetTest, RejectsNegativeLabels) {
  const auto file = npy_i64("y.npy", {3}, {1, -1, 2});
  expect_error([&] { tinyq::load_labels(file); }, file, "negative label -1 at index 1");
  const auto floats = npy_f32("f.npy", {2}, {0, -3});
  expect_error([&] { tinyq::load_labels(floats); }, floats, "negative label -3 at index 1");
}

TEST_F(DatasetTest, RejectsNonIntegerFloatLabels) {
  const auto file = npy_f32("y.npy", {2}, {1.0f, 2.5f});
  expect_error([&] { tinyq::load_labels(file); }, file, "label at index 1 is 2.5");
  const auto nan = npy_f32("n.npy", {1}, {std::numeric_limits<float>::quiet_NaN()});
  expect_error([&] { tinyq::load_labels(nan); }, nan, "not an integer");
}

TEST_F(DatasetTest, RejectsEmptyLabels) {
  const auto file = npy_i64("y.npy", {0}, {});
  expect_error([&] { tinyq::load_labels(file); }, file, "no labels");
}

TEST_F(DatasetTest, RejectsLabelsFromFolder) {
  const std::string folder = path("labels");
  fs::create_directories(folder);
  expect_error([&] { tinyq::load_labels(folder); }, folder, "not supported");
}

// ---- Fashion-MNIST (Debian package dataset-fashion-mnist) ----

TEST(FashionMnist, PathsFollowTheDebianPackageLayout) {
  EXPECT_EQ(tinyq::fashion_mnist_path(false, false), "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(tinyq::fashion_mnist_path(true, true), "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
}

TEST(FashionMnist, LoadsRealTestSet) {
  if (!fs::exists(tinyq::fashion_mnist_path(false, false)) || !fs::exists(tinyq::fashion_mnist_path(false, true)))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const Tensor images = tinyq::fashion_mnist(false, false);
  EXPECT_EQ(images.dtype(), DType::f32);
  ASSERT_EQ(images.shape(), (Shape{10000, 1, 28, 28}));
  const auto [lo, hi] = std::minmax_element(images.f32().begin(), images.f32().end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);

  const Tensor labels = tinyq::fashion_mnist(false, true);
  EXPECT_EQ(labels.dtype(), DType::i64);
  ASSERT_EQ(labels.shape(), (Shape{10000}));
  std::vector<int> per_class(10);
  for (auto label : labels.data<std::int64_t>()) {
    ASSERT_GE(label, 0);
    ASSERT_LE(label, 9);
    ++per_class[std::size_t(label)];
  }
  for (int count : per_class) EXPECT_EQ(count, 1000);  // the test set is balanced

  // The same files through the CLI path, with normalisation.
  Preprocess p;
  p.mean = {0.2860f};
  p.std = {0.3530f};
  const Tensor normalised = tinyq::load_samples(tinyq::fashion_mnist_path(false, false), p);
  EXPECT_EQ(normalised.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_NEAR(normalised.f32()[0], (images.f32()[0] - 0.2860f) / 0.3530f, 1e-6);
  EXPECT_EQ(tinyq::load_labels(tinyq::fashion_mnist_path(false, true)).size(), 10000u);
}

}  // namespace
