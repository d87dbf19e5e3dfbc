// IDX reading (MNIST format): every element type, raw and gzipped, and one test per kind
// of hostile file.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/idx.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using tinyq::DType;
using tinyq::Shape;
using tinyq::Tensor;
using namespace std::string_literals;

namespace {

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ =
        fs::temp_directory_path() / ("tinyq_test_idx_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
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
  static void write_gz(const std::string& path, const std::string& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    if (!bytes.empty()) {
      ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
    }
    ASSERT_EQ(gzclose(f), Z_OK);
  }
  static void put_be(std::string& out, std::uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += char((value >> (8 * i)) & 0xff);
  }
  // IDX header: 00 00 type ndim, then big-endian uint32 dims.
  static std::string header(unsigned type, const std::vector<std::uint32_t>& dims) {
    std::string out{'\0', '\0', char(type), char(dims.size())};
    for (auto d : dims) put_be(out, d, 4);
    return out;
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
  // Writes `bytes` raw and gzipped and expects both to fail with `fragment`.
  void expect_raw_and_gz_error(const std::string& bytes, const std::string& fragment) {
    const std::string raw = path("hostile-idx3-ubyte"), gz = path("hostile-idx3-ubyte.gz");
    write_file(raw, bytes);
    write_gz(gz, bytes);
    {
      SCOPED_TRACE("raw");
      expect_error([&] { tinyq::read_idx(raw); }, raw, fragment);
    }
    {
      SCOPED_TRACE("gzip");
      expect_error([&] { tinyq::read_idx(gz); }, gz, fragment);
    }
  }

  fs::path dir_;
};

std::string u8_images() {
  std::string data;
  for (int i = 0; i < 2 * 3 * 4; ++i) data += char(i * 10);
  return data;
}

TEST_F(IdxTest, ReadsRawUint8Images) {
  write_file(path("images-idx3-ubyte"), header(0x08, {2, 3, 4}) + u8_images());
  const Tensor t = tinyq::read_idx(path("images-idx3-ubyte"));
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  for (int i = 0; i < 24; ++i) EXPECT_EQ(t.data<std::uint8_t>()[i], std::uint8_t(i * 10));
}

TEST_F(IdxTest, ReadsGzippedFileIdenticallyToRaw) {
  const std::string bytes = header(0x08, {2, 3, 4}) + u8_images();
  write_file(path("a-idx3-ubyte"), bytes);
  write_gz(path("a-idx3-ubyte.gz"), bytes);
  const Tensor raw = tinyq::read_idx(path("a-idx3-ubyte"));
  const Tensor gz = tinyq::read_idx(path("a-idx3-ubyte.gz"));
  EXPECT_EQ(gz.dtype(), raw.dtype());
  EXPECT_EQ(gz.shape(), raw.shape());
  EXPECT_EQ(gz.as_i64(), raw.as_i64());
}

TEST_F(IdxTest, ReadsGzippedFileLargerThanOneChunk) {
  std::string data(3 << 20, '\0');  // 3 MiB, several gzread chunks
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = char((i * 7) & 0xff);
  write_gz(path("big.gz"), header(0x08, {3, 1024, 1024}) + data);
  const Tensor t = tinyq::read_idx(path("big.gz"));
  ASSERT_EQ(t.shape(), (Shape{3, 1024, 1024}));
  EXPECT_EQ(std::memcmp(t.bytes().data(), data.data(), data.size()), 0);
}

TEST_F(IdxTest, ReadsOneDimensionalLabels) {
  write_gz(path("labels-idx1-ubyte.gz"), header(0x08, {5}) + std::string{0, 9, 3, 3, 1});
  const Tensor t = tinyq::read_idx(path("labels-idx1-ubyte.gz"));
  EXPECT_EQ(t.shape(), (Shape{5}));
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{0, 9, 3, 3, 1}));
}

TEST_F(IdxTest, ReadsInt8) {
  write_file(path("i8"), header(0x09, {3}) + std::string{'\x80', '\xff', '\x7f'});
  const Tensor t = tinyq::read_idx(path("i8"));
  EXPECT_EQ(t.dtype(), DType::i8);
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{-128, -1, 127}));
}

TEST_F(IdxTest, ReadsBigEndianInt16AsInt32) {
  std::string data;
  for (std::int16_t v : {std::int16_t{-2}, std::int16_t{300}, std::int16_t{-32768}}) put_be(data, std::uint16_t(v), 2);
  write_file(path("i16"), header(0x0B, {3}) + data);
  const Tensor t = tinyq::read_idx(path("i16"));
  EXPECT_EQ(t.dtype(), DType::i32);
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{-2, 300, -32768}));
}

TEST_F(IdxTest, ReadsBigEndianInt32) {
  std::string data;
  for (std::int32_t v : {-70000, 1 << 30, 5}) put_be(data, std::uint32_t(v), 4);
  write_gz(path("i32.gz"), header(0x0C, {1, 3}) + data);
  const Tensor t = tinyq::read_idx(path("i32.gz"));
  EXPECT_EQ(t.dtype(), DType::i32);
  EXPECT_EQ(t.shape(), (Shape{1, 3}));
  EXPECT_EQ(t.as_i64(), (std::vector<std::int64_t>{-70000, 1 << 30, 5}));
}

TEST_F(IdxTest, ReadsBigEndianFloat32) {
  std::string data;
  for (float v : {1.5f, -0.25f, 3e38f, 0.0f}) put_be(data, std::bit_cast<std::uint32_t>(v), 4);
  write_file(path("f32"), header(0x0D, {2, 2}) + data);
  const Tensor t = tinyq::read_idx(path("f32"));
  EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_EQ(t.as_f32(), (std::vector<float>{1.5f, -0.25f, 3e38f, 0.0f}));
}

TEST_F(IdxTest, ReadsBigEndianFloat64AsFloat32) {
  std::string data;
  for (double v : {0.1, -2.5, 1e10}) put_be(data, std::bit_cast<std::uint64_t>(v), 8);
  write_gz(path("f64.gz"), header(0x0E, {3}) + data);
  const Tensor t = tinyq::read_idx(path("f64.gz"));
  EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_EQ(t.as_f32(), (std::vector<float>{0.1f, -2.5f, 1e10f}));
}

TEST_F(IdxTest, ReadsZeroSamples) {
  write_file(path("empty"), header(0x08, {0, 28, 28}));
  const Tensor t = tinyq::read_idx(path("empty"));
  EXPECT_EQ(t.shape(), (Shape{0, 28, 28}));
  EXPECT_EQ(t.numel(), 0);
}

// ---- hostile files ----

TEST_F(IdxTest, RejectsMissingFile) {
  const std::string file = path("none.gz");
  expect_error([&] { tinyq::read_idx(file); }, file, "no such file");
}

TEST_F(IdxTest, RejectsDirectory) {
  const std::string file = path("dir-idx3-ubyte");
  fs::create_directories(file);
  expect_error([&] { tinyq::read_idx(file); }, file, "directory");
}

TEST_F(IdxTest, RejectsWrongMagic) { expect_raw_and_gz_error("\x01\x02\x08\x01\x00\x00\x00\x01x"s, "not an IDX file"); }

TEST_F(IdxTest, RejectsNpyFileAsIdx) { expect_raw_and_gz_error("\x93NUMPY\x01", "not an IDX file"); }

TEST_F(IdxTest, RejectsFileShorterThanMagic) {
  expect_raw_and_gz_error(std::string("\0\0", 2), "shorter than the 4-byte");
}

TEST_F(IdxTest, RejectsEmptyFile) { expect_raw_and_gz_error("", "shorter than the 4-byte"); }

TEST_F(IdxTest, RejectsUnknownElementType) {
  expect_raw_and_gz_error(header(0x0A, {1}) + "x", "unsupported IDX element type 0x0a");
}

TEST_F(IdxTest, RejectsZeroDimensions) { expect_raw_and_gz_error(header(0x08, {}), "0 dimensions"); }

TEST_F(IdxTest, RejectsHeaderCutInsideDims) {
  expect_raw_and_gz_error(header(0x08, {10, 28, 28}).substr(0, 10), "truncated IDX header");
}

TEST_F(IdxTest, RejectsDataShorterThanDims) {
  expect_raw_and_gz_error(header(0x08, {2, 3, 4}) + u8_images().substr(0, 23), "truncated IDX data");
}

TEST_F(IdxTest, RejectsDataLongerThanDims) {
  expect_raw_and_gz_error(header(0x08, {2, 3, 4}) + u8_images() + "x", "longer than dims");
}

TEST_F(IdxTest, RejectsDimsOverTwoToThe31Elements) {
  expect_raw_and_gz_error(header(0x08, {65536, 65536, 2}) + "x", "2^31");
  expect_raw_and_gz_error(header(0x0E, {0xffffffffu, 0xffffffffu}) + "x", "2^31");
}

TEST_F(IdxTest, RejectsShortStreamWithoutAllocatingDeclaredSize) {
  // 2^31 float64 elements (16 GiB declared) backed by a few bytes: must fail as truncated
  // without allocating the declared size.
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  expect_raw_and_gz_error(header(0x0E, {1u << 15, 1u << 15}) + std::string(64, '\0'), "truncated IDX data");
  expect_raw_and_gz_error(header(0x08, {1u << 30, 2}) + std::string(64, '\0'), "truncated IDX data");
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 200 * 1024)
      << "peak RSS grew by " << after.ru_maxrss - before.ru_maxrss << " KiB";
}

TEST_F(IdxTest, RejectsTruncatedGzipStream) {
  const std::string file = path("cut-idx3-ubyte.gz");
  write_gz(file, header(0x08, {2, 3, 4}) + u8_images());
  const std::string bytes = read_file(file);
  write_file(file, bytes.substr(0, bytes.size() - 12));
  expect_error([&] { tinyq::read_idx(file); }, file, "truncated");
}

TEST_F(IdxTest, RejectsGzipWithMissingTrailer) {
  // All data decompresses, but the CRC32/length trailer is cut off.
  const std::string file = path("trailer-idx3-ubyte.gz");
  write_gz(file, header(0x08, {2, 3, 4}) + u8_images());
  const std::string bytes = read_file(file);
  for (std::size_t cut : {1, 4, 8}) {
    SCOPED_TRACE(cut);
    write_file(file, bytes.substr(0, bytes.size() - cut));
    expect_error([&] { tinyq::read_idx(file); }, file, "truncated gzip stream");
  }
}

TEST_F(IdxTest, RejectsGzipWithBadChecksum) {
  const std::string file = path("crc-idx3-ubyte.gz");
  write_gz(file, header(0x08, {2, 3, 4}) + u8_images());
  std::string bytes = read_file(file);
  bytes[bytes.size() - 8] ^= 0x55;  // first byte of the CRC32 trailer
  write_file(file, bytes);
  expect_error([&] { tinyq::read_idx(file); }, file, "corrupt");
}

TEST_F(IdxTest, RejectsGarbageAfterGzipMagic) {
  const std::string file = path("junk.gz");
  write_file(file, "\x1f\x8b\x08\x00garbage that is not deflate data at all.........."s);
  expect_error([&] { tinyq::read_idx(file); }, file, "gzip");
}

}  // namespace
