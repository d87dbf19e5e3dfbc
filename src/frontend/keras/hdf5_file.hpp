// Internal: the little of HDF5 a Keras .h5 file needs (string attributes, float datasets),
// behind RAII handles. Only the reader child process calls these (keras_file.hpp says why). Every failure is one
// tinyq::Error naming the file and the object: HDF5's own error printing is switched off and its innermost message is
// quoted instead.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "ir/tensor.hpp"

namespace tinyq::keras_import {

// Owns one HDF5 identifier (file, group, dataset, attribute, datatype or dataspace) and
// closes it with the matching H5*close. Predefined types (H5T_NATIVE_FLOAT) are never owned.
class H5Handle {
 public:
  H5Handle() = default;
  explicit H5Handle(hid_t id) : id_(id) {}
  ~H5Handle() { reset(); }
  H5Handle(H5Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  H5Handle& operator=(H5Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// The innermost message of HDF5's current error stack ("file signature not found"), then
// the stack is cleared. Empty when HDF5 recorded nothing.
std::string hdf5_reason();

// A read-only HDF5 file. The constructor turns HDF5's automatic error printing off for
// good: tinyq reports errors itself, in one line.
class Hdf5File {
 public:
  explicit Hdf5File(const std::string& path);
  hid_t root() const { return file_.get(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  H5Handle file_;
};

bool has_attribute(hid_t object, const std::string& name);
// A string attribute, scalar or 1-D, fixed-length or variable-length (h5py writes both).
// `where` names the object for errors. Refuses attributes over `max_bytes`.
std::vector<std::string> read_string_attribute(hid_t object, const std::string& name, const std::string& where,
                                               std::size_t max_bytes = std::size_t{64} << 20);
// Keras splits a long list attribute into NAME0, NAME1, ... (HDF5's 64 KiB header limit);
// this reads either form.
std::vector<std::string> read_string_list_attribute(hid_t object, const std::string& name, const std::string& where);

// A group below `parent` ("model_weights", "conv2d"); error naming `where` if it is missing.
H5Handle open_group(hid_t parent, const std::string& path, const std::string& where);
// A float or integer dataset read as float32 in its stored shape; error naming `where` if it
// is missing, of another type or larger than `budget_bytes` (which it is charged against).
Tensor read_float_dataset(hid_t parent, const std::string& path, std::int64_t& budget_bytes, const std::string& where);
// The names of the links directly below `group`, at most `limit` of them.
std::vector<std::string> list_links(hid_t group, std::size_t limit, const std::string& where);

}  // namespace tinyq::keras_import
