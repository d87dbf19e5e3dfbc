// NPY reading and writing: round trips, handcrafted headers of every supported version and
// dtype, and one test per kind of hostile file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "data/npy.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using tinyq::DType;
using tinyq::Shape;
using tinyq::Tensor;

namespace {

// A fresh directory per test, removed afterwards.
class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ =
        fs::temp_directory_path() / ("tinyq_test_npy_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }
  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // A complete NPY file with the given header dict text (padded to 64 bytes) and data.
  static std::string npy(const std::string& dict, const std::string& data, int major = 1) {
    const std::size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    while ((prefix + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += char(major);
    out += '\0';
    const std::size_t length = header.size();
    for (std::size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) out += char((length >> (8 * i)) & 0xff);
    return out + header + data;
  }
  template <typename T>
  static std::string raw(const std::vector<T>& values) {
    return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)};
  }
  static std::string dict(const std::string& descr, const std::string& shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  }

  // Asserts that `f` throws tinyq::Error for `where`, on one line, containing `fragment`.
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
  void expect_read_error(const std::string& bytes, const std::string& fragment) {
    const std::string file = path("hostile.npy");
    write_file(file, bytes);
    expect_error([&] { tinyq::read_npy(file); }, file, fragment);
  }

  fs::path dir_;
};

TEST_F(NpyTest, RoundTripsFloat32) {
  const std::vector<float> values = {0.5f, -1.25f, 3.0f, 1e-20f, -0.0f, 7.75f};
  const Tensor t = Tensor::from_floats({2, 3}, values);
  tinyq::write_npy(path("a.npy"), t);
  const Tensor back = tinyq::read_npy(path("a.npy"));
  EXPECT_EQ(back.dtype(), DType::f32);
  EXPECT_EQ(back.shape(), (Shape{2, 3}));
  ASSERT_EQ(back.numel(), 6);
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(back.f32()[i], values[i]);
}

TEST_F(NpyTest, RoundTripsEveryWritableDtype) {
  const std::vector<std::int64_t> values = {0, 1, 5, 100, 1, 0};
  for (DType type : {DType::f32, DType::i64, DType::i32, DType::i8, DType::u8, DType::boolean}) {
    SCOPED_TRACE(tinyq::dtype_name(type));
    const Tensor t = Tensor::from_i64({3, 2}, values).cast(type);
    tinyq::write_npy(path("t.npy"), t);
    const Tensor back = tinyq::read_npy(path("t.npy"));
    EXPECT_EQ(back.dtype(), type);
    EXPECT_EQ(back.shape(), (Shape{3, 2}));
    EXPECT_EQ(back.as_i64(), t.as_i64());
  }
}

TEST_F(NpyTest, RoundTripsNegativeAndExtremeIntegers) {
  const std::vector<std::int64_t> values = {INT64_MIN, -1, INT64_MAX};
  tinyq::write_npy(path("i.npy"), Tensor::from_i64({3}, values));
  EXPECT_EQ(tinyq::read_npy(path("i.npy")).as_i64(), values);
  const Tensor i8 = Tensor::from_i64({3}, std::vector<std::int64_t>{-128, -1, 127}).cast(DType::i8);
  tinyq::write_npy(path("b.npy"), i8);
  EXPECT_EQ(tinyq::read_npy(path("b.npy")).as_i64(), (std::vector<std::int64_t>{-128, -1, 127}));
}

TEST_F(NpyTest, RoundTripsScalarOneDimAndEmptyShapes) {
  tinyq::write_npy(path("s.npy"), Tensor::scalar(2.5f));
  const Tensor s = tinyq::read_npy(path("s.npy"));
  EXPECT_TRUE(s.shape().empty());
  EXPECT_EQ(s.f32()[0], 2.5f);

  tinyq::write_npy(path("v.npy"), Tensor::from_floats({4}, std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(tinyq::read_npy(path("v.npy")).shape(), (Shape{4}));

  tinyq::write_npy(path("e.npy"), Tensor(DType::f32, {0, 3}));
  const Tensor e = tinyq::read_npy(path("e.npy"));
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  EXPECT_EQ(e.numel(), 0);
}

TEST_F(NpyTest, WritesVersion1HeaderAlignedTo64Bytes) {
  tinyq::write_npy(path("h.npy"), Tensor::from_floats({5}, std::vector<float>{1, 2, 3, 4, 5}));
  const std::string bytes = read_file(path("h.npy"));
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  const std::size_t header_length = std::uint8_t(bytes[8]) | std::size_t(std::uint8_t(bytes[9])) << 8;
  EXPECT_EQ((10 + header_length) % 64, 0u);
  const std::string header = bytes.substr(10, header_length);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (5,)"), std::string::npos) << header;
  EXPECT_EQ(bytes.size(), 10 + header_length + 5 * 4);
}

TEST_F(NpyTest, WriteReplacesExistingFileAndLeavesNoTmp) {
  write_file(path("o.npy"), "old contents");
  tinyq::write_npy(path("o.npy"), Tensor::from_floats({1}, std::vector<float>{9}));
  EXPECT_EQ(tinyq::read_npy(path("o.npy")).f32()[0], 9.0f);
  EXPECT_FALSE(fs::exists(path("o.npy.tmp")));
}

TEST_F(NpyTest, WriteFailureNamesFileAndLeavesNothing) {
  const std::string file = path("missing_dir/out.npy");
  expect_error([&] { tinyq::write_npy(file, Tensor::scalar(1.0f)); }, file, "cannot create");
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file + ".tmp"));
}

TEST_F(NpyTest, WriteRejectsEmptyDefaultTensor) {
  const std::string file = path("d.npy");
  expect_error([&] { tinyq::write_npy(file, Tensor()); }, file, "inconsistent");
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(NpyTest, ReadsVersion2And3Headers) {
  const std::vector<float> values = {1.5f, 2.5f, -3.5f};
  for (int major : {2, 3}) {
    SCOPED_TRACE(major);
    write_file(path("v.npy"), npy(dict("<f4", "(3,)"), raw(values), major));
    const Tensor t = tinyq::read_npy(path("v.npy"));
    EXPECT_EQ(t.shape(), (Shape{3}));
    EXPECT_EQ(t.as_f32(), values);
  }
}

TEST_F(NpyTest, ReadsFloat64AsFloat32) {
  const std::vector<double> values = {0.1, -2.0, 1e30, 123456.789};
  write_file(path("d.npy"), npy(dict("<f8", "(2, 2)"), raw(values)));
  const Tensor t = tinyq::read_npy(path("d.npy"));
  EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_EQ(t.shape(), (Shape{2, 2}));
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(t.f32()[i], float(values[i]));
}

// Half-precision arrays are widened to float32 (the model runs in float32): normal,
// subnormal, signed zero, infinities and NaN, over more than one read chunk.
TEST_F(NpyTest, ReadsFloat16AsFloat32) {
  std::vector<std::uint16_t> bits(70000, 0x3c00);  // 1.0
  const std::vector<std::pair<std::uint16_t, float>> special = {
      {0x3555, 0.333251953125f}, {0xc000, -2.0f},    {0x7bff, 65504.0f},  {0x0001, 5.9604644775390625e-8f},
      {0x8000, -0.0f},           {0x7c00, INFINITY}, {0xfc00, -INFINITY}, {0x03ff, 6.0975551605224609375e-5f}};
  for (std::size_t i = 0; i < special.size(); ++i) bits[65530 + i] = special[i].first;
  bits[69999] = 0x7e00;  // NaN
  write_file(path("h.npy"), npy(dict("<f2", "(70000,)"), raw(bits)));
  const Tensor t = tinyq::read_npy(path("h.npy"));
  EXPECT_EQ(t.dtype(), DType::f32);
  ASSERT_EQ(t.numel(), 70000);
  EXPECT_EQ(t.f32()[0], 1.0f);
  for (std::size_t i = 0; i < special.size(); ++i) {
    EXPECT_EQ(t.f32()[65530 + i], special[i].second) << i;
    EXPECT_EQ(std::signbit(t.f32()[65530 + i]), std::signbit(special[i].second)) << i;
  }
  EXPECT_TRUE(std::isnan(t.f32()[69999]));
}

TEST_F(NpyTest, ReadsFloat64LargerThanOneChunk) {
  std::vector<double> values(200000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = double(i) * 0.5;
  write_file(path("big.npy"), npy(dict("<f8", "(200000,)"), raw(values)));
  const Tensor t = tinyq::read_npy(path("big.npy"));
  ASSERT_EQ(t.numel(), 200000);
  EXPECT_EQ(t.f32()[0], 0.0f);
  EXPECT_EQ(t.f32()[199999], 99999.5f);
  EXPECT_EQ(t.f32()[65537], 32768.5f);
}

TEST_F(NpyTest, ReadsEachIntegerAndBoolDtype) {
  write_file(path("u1.npy"), npy(dict("|u1", "(3,)"), raw(std::vector<std::uint8_t>{0, 128, 255})));
  Tensor t = tinyq::read_npy(path("u1.npy"));
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{0, 128, 255}));

  write_file(path("i1.npy"), npy(dict("|i1", "(3,)"), raw(std::vector<std::int8_t>{-128, 0, 127})));
  t = tinyq::read_npy(path("i1.npy"));
  EXPECT_EQ(t.dtype(), DType::i8);
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{-128, 0, 127}));

  write_file(path("i4.npy"), npy(dict("<i4", "(2,)"), raw(std::vector<std::int32_t>{-7, 1 << 30})));
  t = tinyq::read_npy(path("i4.npy"));
  EXPECT_EQ(t.dtype(), DType::i32);
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{-7, 1 << 30}));

  write_file(path("i8.npy"), npy(dict("<i8", "(2,)"), raw(std::vector<std::int64_t>{-5, std::int64_t{1} << 40})));
  t = tinyq::read_npy(path("i8.npy"));
  EXPECT_EQ(t.dtype(), DType::i64);
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{-5, std::int64_t{1} << 40}));

  // Bool bytes other than 0/1 are normalised.
  write_file(path("b1.npy"), npy(dict("|b1", "(3,)"), raw(std::vector<std::uint8_t>{0, 1, 7})));
  t = tinyq::read_npy(path("b1.npy"));
  EXPECT_EQ(t.dtype(), DType::boolean);
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{0, 1, 1}));
}

TEST_F(NpyTest, AcceptsHeaderVariantsNumpyHasWritten) {
  const std::string data = raw(std::vector<float>{1, 2, 3, 4, 5, 6});
  // Python 2 longs, double quotes, other key order, no trailing comma.
  for (const std::string& header :
       {std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }"),
        std::string("{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}"),
        std::string("{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , 3 ) }")}) {
    SCOPED_TRACE(header);
    write_file(path("h.npy"), npy(header, data));
    const Tensor t = tinyq::read_npy(path("h.npy"));
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(t.f32()[5], 6.0f);
  }
}

// ---- hostile files: every one is a tinyq::Error naming the file ----

TEST_F(NpyTest, RejectsMissingFile) {
  const std::string file = path("nope.npy");
  expect_error([&] { tinyq::read_npy(file); }, file, "no such file");
}

TEST_F(NpyTest, RejectsDirectory) {
  const std::string file = path("sub.npy");
  fs::create_directories(file);
  expect_error([&] { tinyq::read_npy(file); }, file, "directory");
}

TEST_F(NpyTest, RejectsBadMagic) {
  expect_read_error(std::string("\x93NUMPZ\x01\x00\x10\x00", 10) + std::string(16, ' '), "bad magic");
}

TEST_F(NpyTest, RejectsFileShorterThanPreamble) { expect_read_error("\x93NUM", "shorter than the NPY preamble"); }

TEST_F(NpyTest, RejectsEmptyFile) { expect_read_error("", "not an NPY file"); }

TEST_F(NpyTest, RejectsUnsupportedVersion) {
  std::string bytes = npy(dict("<f4", "(1,)"), raw(std::vector<float>{1}));
  bytes[6] = 4;
  expect_read_error(bytes, "version 4.0");
}

TEST_F(NpyTest, RejectsHeaderLengthBeyondFile) {
  std::string bytes = npy(dict("<f4", "(1,)"), raw(std::vector<float>{1}));
  bytes[8] = '\xff';
  bytes[9] = '\xff';
  expect_read_error(bytes, "truncated NPY header");
}

TEST_F(NpyTest, RejectsVersion2HeaderLengthOf4GiB) {
  std::string bytes = npy(dict("<f4", "(1,)"), raw(std::vector<float>{1}), 2);
  bytes.replace(8, 4, "\xff\xff\xff\xff");
  expect_read_error(bytes, "truncated NPY header");
}

TEST_F(NpyTest, RejectsFileCutInsideHeader) {
  const std::string bytes = npy(dict("<f4", "(1,)"), raw(std::vector<float>{1}));
  expect_read_error(bytes.substr(0, 30), "truncated NPY header");
}

struct MalformedHeader {
  const char* name;
  const char* header;
  const char* fragment;
};

class NpyMalformedHeaderTest : public NpyTest, public ::testing::WithParamInterface<MalformedHeader> {};

TEST_P(NpyMalformedHeaderTest, RejectsMalformedDict) {
  // The data matches shape (2,) '<f4' so only the dict itself is at fault.
  expect_read_error(npy(GetParam().header, raw(std::vector<float>{1, 2})), GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, NpyMalformedHeaderTest,
    ::testing::Values(
        MalformedHeader{"NotADict", "'descr': '<f4'", "malformed NPY header"},
        MalformedHeader{"Unclosed", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "malformed NPY header"},
        MalformedHeader{"MissingShape", "{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
        MalformedHeader{"MissingDescr", "{'fortran_order': False, 'shape': (2,)}", "missing key 'descr'"},
        MalformedHeader{"MissingFortranOrder", "{'descr': '<f4', 'shape': (2,)}", "missing key 'fortran_order'"},
        MalformedHeader{"ShapeNotTuple", "{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "malformed"},
        MalformedHeader{"ShapeParenthesisedInt", "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",
                        "not a tuple"},
        MalformedHeader{"ShapeGarbage", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}",
                        "expected an integer"},
        MalformedHeader{"ShapeMissingComma", "{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}",
                        "expected ',' or ')'"},
        MalformedHeader{"ShapeHugeNumber",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
                        "dimension too large"},
        MalformedHeader{"DescrNotString", "{'descr': 4, 'fortran_order': False, 'shape': (2,)}", "malformed"},
        MalformedHeader{"FortranOrderNotBool", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "malformed"},
        MalformedHeader{"DuplicateKey", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
                        "duplicate key"},
        MalformedHeader{"UnexpectedKey", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 'y'}",
                        "unexpected key 'x'"},
        MalformedHeader{"UnterminatedString", "{'descr: '<f4', 'fortran_order': False, 'shape': (2,)}",
                        "malformed NPY header"},
        MalformedHeader{"TrailingText", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk",
                        "after the closing"},
        MalformedHeader{"UnquotedKey", "{descr: '<f4', 'fortran_order': False, 'shape': (2,)}", "quoted string"},
        MalformedHeader{"EmptyHeader", "", "malformed NPY header"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(NpyTest, RejectsNulByteInHeader) {
  std::string header = dict("<f4", "(2,)");
  header[1] = '\0';
  expect_read_error(npy(header, raw(std::vector<float>{1, 2})), "NUL byte");
}

TEST_F(NpyTest, RejectsUnsupportedDtypes) {
  for (const char* descr : {"<c8", "<U3", "|O", "<u4", "<M8[ns]", "x"}) {
    SCOPED_TRACE(descr);
    expect_read_error(npy(dict(descr, "(2,)"), std::string(16, '\0')), "unsupported dtype");
  }
}

TEST_F(NpyTest, RejectsStructuredDtype) {
  expect_read_error(
      npy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }", std::string(16, '\0')),
      "structured");
}

TEST_F(NpyTest, RejectsBigEndianData) {
  expect_read_error(npy(dict(">f4", "(2,)"), raw(std::vector<float>{1, 2})), "big-endian");
  expect_read_error(npy(dict(">i8", "(2,)"), raw(std::vector<std::int64_t>{1, 2})), "big-endian");
}

TEST_F(NpyTest, RejectsFortranOrder) {
  expect_read_error(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", raw(std::vector<float>{1, 2})),
                    "Fortran");
}

TEST_F(NpyTest, RejectsDataShorterThanShape) {
  expect_read_error(npy(dict("<f4", "(2, 3)"), raw(std::vector<float>{1, 2, 3, 4, 5})), "truncated NPY data");
}

TEST_F(NpyTest, RejectsDataLongerThanShape) {
  expect_read_error(npy(dict("<f4", "(2, 2)"), raw(std::vector<float>{1, 2, 3, 4, 5})), "longer than shape");
}

TEST_F(NpyTest, RejectsShapeOverTwoToThe31Elements) {
  expect_read_error(npy(dict("|u1", "(1048576, 1048576)"), "x"), "2^31");
  expect_read_error(npy(dict("<f8", "(4294967296,)"), "x"), "2^31");
}

TEST_F(NpyTest, RejectsLargeShapeBeforeAllocating) {
  // 2^30 doubles (8 GiB) would be accepted by the element limit; the file size check must
  // catch it before any buffer is allocated.
  expect_read_error(npy(dict("<f8", "(1073741824,)"), raw(std::vector<double>{1})), "truncated NPY data");
}

TEST_F(NpyTest, RejectsNegativeDimension) {
  expect_read_error(npy(dict("<f4", "(-1, 2)"), raw(std::vector<float>{1, 2})), "negative dimension");
}

}  // namespace
