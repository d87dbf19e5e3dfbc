// Flash by symbol from the linked firmware (`bench`'s runtime code / model code / constants):
// LTO renames some symbols, and templates carry their return type; both must still count.
#include <gtest/gtest.h>

#include "codegen/firmware.hpp"

namespace tinyq {
namespace {

TEST(FirmwareSizes, CountsLtoPrivateConstantsAndTemplatedRuntimeFunctions) {
  const std::string nm =
      "10000100 00000010 T tinyq::rt::dense_s8(tinyq::rt::DenseParams const&, signed char const*)\n"
      "10000200 00000020 t void tinyq::rt::(anonymous namespace)::few_blocks<0l, true>(long, long)\n"
      "10000300 00000040 t tinyq_dsp_depthwise_rows\n"
      "10000400 00000100 T model_invoke\n"
      "10000500 00000200 t main\n"
      "11000000 00001000 R _ZN12_GLOBAL__N_1L10n7_weightsE.lto_priv.0\n"
      "11001000 00000400 r (anonymous namespace)::n10_exp_table\n"
      "11002000 00000080 r tinyq::rt::(anonymous namespace)::kSigmoidTable\n"
      "30000000 00001018 B _ZN12_GLOBAL__N_17g_arenaE.lto_priv.0\n"
      "30002000 00000400 b (anonymous namespace)::g_arena\n";
  const FirmwareSizes s = sizes_from_symbols(nm, "model");
  EXPECT_EQ(s.runtime_code, 0x10u + 0x20 + 0x40);  // the templated one too; not main
  EXPECT_EQ(s.model_code, 0x100u);
  EXPECT_EQ(s.const_data, 0x1000u + 0x400 + 0x80);  // the LTO-private weights too
  EXPECT_EQ(s.arena_bytes, 0x1018u + 0x400);
}

}  // namespace
}  // namespace tinyq
