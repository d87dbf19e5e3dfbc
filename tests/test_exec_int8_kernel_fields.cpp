// The typed field lists (exec/kernel_fields.hpp) carry every parameter of every runtime
// struct through a QNode and back: what the quantizer writes is what the executor and code
// generation read, field by field. (That each list matches its struct's declaration is proven
// at compile time by the header's static_asserts.)
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "qmodel/kernel_fields.hpp"
#include "util/error.hpp"

namespace tinyq {
namespace {

// A node holding a distinct value for every scalar field of S, and arrays for its pointers.
template <typename S>
QNode node_for(const S& scalars) {
  QNode n;
  write_scalars(n, scalars);
  std::int32_t next = 1000;
  auto add_arrays = [&](const auto& self, const auto& p) -> void {
    for_each_field(p, [&](const char* key, const auto& value, bool) {
      using M = std::remove_cvref_t<decltype(value)>;
      if constexpr (std::is_same_v<M, const std::int32_t*>) {
        n.i32[key] = {next++, next++};
      } else if constexpr (std::is_same_v<M, rt::Requant>) {
        n.i32[std::string(key) + "_multiplier"] = {next++, next++, next++};
        n.i32[std::string(key) + "_shift"] = {-next++, -next++, -next++};
      } else if constexpr (kernel_fields_detail::is_nested_v<M>) {
        self(self, value);
      }
    });
  };
  add_arrays(add_arrays, scalars);
  return n;
}

// Every field of `read` equals what the node holds: scalars the written values, pointers the
// node's own arrays.
template <typename S>
void expect_round_trip(const S& written, const S& read, const QNode& n) {
  std::size_t i = 0;
  for_each_field(read, [&](const char* key, const auto& value, bool) {
    using M = std::remove_cvref_t<decltype(value)>;
    SCOPED_TRACE(key);
    if constexpr (kernel_fields_detail::is_scalar_v<M>) {
      EXPECT_EQ(std::int64_t(value), n.get(key));
    } else if constexpr (std::is_same_v<M, const std::int32_t*>) {
      EXPECT_EQ(value, n.words(key).data());
    } else if constexpr (std::is_same_v<M, rt::Requant>) {
      EXPECT_EQ(value.multiplier, n.words(std::string(key) + "_multiplier").data());
      EXPECT_EQ(value.shift, n.words(std::string(key) + "_shift").data());
      EXPECT_EQ(value.count, 3);
    } else {
      expect_round_trip(M{}, value, n);
    }
    ++i;
  });
  (void)written;
  EXPECT_EQ(i, std::tuple_size_v<std::remove_cvref_t<decltype(KernelFields<S>::list)>>);
}

// Distinct scalar values per field (position-dependent), so a read of the wrong key shows.
template <typename S>
S distinct_scalars(int base) {
  return kernel_fields_detail::probe_struct<S>(base);
}

template <typename S>
void check_round_trip() {
  const S written = distinct_scalars<S>(7);
  const QNode n = node_for(written);
  const S read = read_params<S>(n);
  expect_round_trip(written, read, n);
  // And the scalars read back are exactly the written ones.
  for_each_field(written, [&](const char* key, const auto& value, bool) {
    using M = std::remove_cvref_t<decltype(value)>;
    if constexpr (kernel_fields_detail::is_scalar_v<M>) {
      EXPECT_EQ(n.get(key), std::int64_t(value)) << key;
    }
  });
}

TEST(KernelFields, EveryStructRoundTripsThroughANode) {
  check_round_trip<rt::ConvParams>();
  check_round_trip<rt::DenseParams>();
  check_round_trip<rt::PoolParams>();
  check_round_trip<rt::AvgPoolParams>();
  check_round_trip<rt::AddParams>();
  check_round_trip<rt::MulParams>();
  check_round_trip<rt::ConcatParams>();
  check_round_trip<rt::PadParams>();
  check_round_trip<rt::ResizeParams>();
  check_round_trip<rt::StridedCopyParams>();
  check_round_trip<rt::PreluParams>();
  check_round_trip<rt::LayerNormParams>();
}

TEST(KernelFields, KeysAreTheTqmKeys) {
  // The .tqm format stores these names: changing one breaks every saved model.
  EXPECT_STREQ(key_of(&rt::ConvParams::stride_h), "stride_h");
  EXPECT_STREQ(key_of(&rt::ConvParams::requant), "requant");
  EXPECT_STREQ(key_of(&rt::AvgPoolParams::count_multiplier), "count_multiplier");
  EXPECT_STREQ(key_of(&rt::PreluParams::negative), "negative");
  EXPECT_STREQ(key_of(&rt::LayerNormParams::epsilon_q), "epsilon_q");
}

TEST(KernelFields, AMissingRequiredKeyIsAnErrorAndOptionalOnesDefault) {
  QNode n;
  write_scalars(n, rt::PoolParams{});
  n.ints.erase("stride_w");
  EXPECT_THROW(read_params<rt::PoolParams>(n), Error);
  // truncate and the divisor tables may be absent (the nnom preset's pooling has no tables).
  QNode avg;
  write_scalars(avg, rt::AvgPoolParams{});
  avg.ints.erase("truncate");
  const auto p = read_params<rt::AvgPoolParams>(avg);
  EXPECT_EQ(p.truncate, 0);
  EXPECT_EQ(p.count_multiplier, nullptr);
  EXPECT_EQ(p.count_shift, nullptr);
}

}  // namespace
}  // namespace tinyq
