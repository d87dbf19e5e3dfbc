#include "frontend/keras/hdf5_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "util/error.hpp"

namespace tinyq::keras_import {

void H5Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Idec_ref(id_); break;
  }
  id_ = H5I_INVALID_HID;
}

namespace {

herr_t keep_innermost(unsigned n, const H5E_error2_t* error, void* data) {
  // Walked upward: entry 0 is the innermost failure, the most specific description.
  if (n == 0 && error != nullptr && error->desc != nullptr) *static_cast<std::string*>(data) = error->desc;
  return 0;
}

// Names in messages stay one line whatever the file holds.
std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

// Frees the strings HDF5 allocated for a variable-length read, whatever happens after it.
struct VlenStrings {
  hid_t type, space;
  std::vector<char*> pointers;
  ~VlenStrings() {
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(type, space, H5P_DEFAULT, pointers.data());
#else
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, pointers.data());
#endif
  }
};

}  // namespace

std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason.empty() ? std::string("HDF5 gave no reason") : "HDF5: " + one_line(reason);
}

Hdf5File::Hdf5File(const std::string& path) : path_(path) {
  // Errors become one tinyq line; HDF5 would otherwise print its whole stack to stderr.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5Handle access(H5Pcreate(H5P_FILE_ACCESS));
  // Read-only use: no lock, so files on read-only or lock-less file systems open too.
  if (access.valid()) H5Pset_file_locking(access.get(), false, true);
  file_ = H5Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.valid() ? access.get() : H5P_DEFAULT));
  if (!file_.valid()) fail(path, "not a readable HDF5 file ({})", hdf5_reason());
}

bool has_attribute(hid_t object, const std::string& name) {
  htri_t exists = H5Aexists(object, name.c_str());
  if (exists < 0) H5Eclear2(H5E_DEFAULT);
  return exists > 0;
}

std::vector<std::string> read_string_attribute(hid_t object, const std::string& name, const std::string& where,
                                               std::size_t max_bytes) {
  H5Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) fail(where, "cannot read attribute '{}' ({})", name, hdf5_reason());
  H5Handle type(H5Aget_type(attr.get()));
  H5Handle space(H5Aget_space(attr.get()));
  if (!type.valid() || !space.valid()) fail(where, "cannot read attribute '{}' ({})", name, hdf5_reason());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (rank < 0 || rank > 1 || count < 0)
    fail(where, "attribute '{}' must be a string or a list of strings (rank {})", name, rank);
  std::vector<std::string> result;
  // Keras writes an empty list as an empty float64 array (numpy's default dtype for []).
  if (count == 0) return result;
  if (H5Tget_class(type.get()) != H5T_STRING) fail(where, "attribute '{}' is not a string", name);
  H5Handle memory(H5Tcopy(H5T_C_S1));
  const htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0 || !memory.valid()) fail(where, "cannot read attribute '{}' ({})", name, hdf5_reason());
  H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
  if (variable > 0) {
    if (std::size_t(count) > max_bytes / sizeof(char*)) fail(where, "attribute '{}' is too large", name);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    VlenStrings strings{memory.get(), space.get(), std::vector<char*>(std::size_t(count), nullptr)};
    if (H5Aread(attr.get(), memory.get(), strings.pointers.data()) < 0)
      fail(where, "cannot read attribute '{}' ({})", name, hdf5_reason());
    std::size_t total = 0;
    for (const char* s : strings.pointers) {
      const std::size_t length = s == nullptr ? 0 : std::strlen(s);
      if ((total += length) > max_bytes) fail(where, "attribute '{}' is too large", name);
      result.emplace_back(s == nullptr ? "" : s, length);
    }
    return result;
  }
  const std::size_t size = H5Tget_size(type.get());
  if (size == 0 || std::size_t(count) > max_bytes / size) fail(where, "attribute '{}' is too large or empty", name);
  // Null padding in memory: a null-terminated type of the same size would drop the last
  // character of a string that fills its slot.
  H5Tset_size(memory.get(), size);
  H5Tset_strpad(memory.get(), H5T_STR_NULLPAD);
  std::vector<char> bytes(size * std::size_t(count), '\0');
  if (H5Aread(attr.get(), memory.get(), bytes.data()) < 0)
    fail(where, "cannot read attribute '{}' ({})", name, hdf5_reason());
  for (hssize_t i = 0; i < count; ++i) {
    const char* s = bytes.data() + std::size_t(i) * size;
    result.emplace_back(s, strnlen(s, size));
  }
  return result;
}

std::vector<std::string> read_string_list_attribute(hid_t object, const std::string& name, const std::string& where) {
  if (has_attribute(object, name)) return read_string_attribute(object, name, where);
  std::vector<std::string> all;
  for (int chunk = 0; has_attribute(object, name + std::to_string(chunk)); ++chunk) {
    auto part = read_string_attribute(object, name + std::to_string(chunk), where);
    all.insert(all.end(), part.begin(), part.end());
  }
  if (all.empty() && !has_attribute(object, name + "0")) fail(where, "has no attribute '{}'", name);
  return all;
}

H5Handle open_group(hid_t parent, const std::string& path, const std::string& where) {
  H5Handle group(H5Gopen2(parent, path.c_str(), H5P_DEFAULT));
  if (!group.valid()) fail(where, "has no group '{}' ({})", one_line(path), hdf5_reason());
  return group;
}

Tensor read_float_dataset(hid_t parent, const std::string& path, std::int64_t& budget_bytes, const std::string& where) {
  const std::string what = one_line(path);
  H5Handle dataset(H5Dopen2(parent, path.c_str(), H5P_DEFAULT));
  if (!dataset.valid()) fail(where, "weight '{}' is missing ({})", what, hdf5_reason());
  H5Handle type(H5Dget_type(dataset.get()));
  H5Handle space(H5Dget_space(dataset.get()));
  if (!type.valid() || !space.valid()) fail(where, "cannot read weight '{}' ({})", what, hdf5_reason());
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class != H5T_FLOAT && type_class != H5T_INTEGER)
    fail(where, "weight '{}' is not a float or integer array", what);
  constexpr int kMaxRank = 8;
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > kMaxRank) fail(where, "weight '{}' has an unsupported rank", what);
  hsize_t dims[kMaxRank] = {};
  if (H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0)
    fail(where, "cannot read weight '{}' ({})", what, hdf5_reason());
  Shape shape;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] > hsize_t(kMaxElements)) fail(where, "weight '{}' is too large", what);
    shape.push_back(std::int64_t(dims[i]));
  }
  const std::int64_t count = element_count(shape, where + ": weight '" + what + "'");
  if (count * 4 > budget_bytes) fail(where, "weight '{}' exceeds what tinyq loads (1 GiB of weights)", what);
  budget_bytes -= count * 4;
  Tensor tensor(DType::f32, shape);
  if (count > 0 && H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor.f32().data()) < 0)
    fail(where, "cannot read weight '{}' ({})", what, hdf5_reason());
  return tensor;
}

namespace {
struct LinkList {
  std::vector<std::string> names;
  std::size_t limit;
};
herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* data) {
  auto* list = static_cast<LinkList*>(data);
  if (list->names.size() >= list->limit) return 1;  // stop: the caller reports the excess
  list->names.emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> list_links(hid_t group, std::size_t limit, const std::string& where) {
  LinkList list{{}, limit + 1};
  if (H5Literate(group, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, collect_link, &list) < 0)
    fail(where, "cannot list its groups ({})", hdf5_reason());
  if (list.names.size() > limit) fail(where, "has more than {} groups", limit);
  return list.names;
}

}  // namespace tinyq::keras_import
