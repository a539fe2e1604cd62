#pragma once
// Thin checked wrappers over the HDF5 C API (STYLE.md §8, after HighFive's
// h5d_wrapper.hpp): every call is checked and a failure throws ldmg::Error
// naming the call, the file and the object path, with HDF5's own error stack
// (whose automatic printing we switch off) appended. Identifiers are owned by
// RAII handles. This header does not include <hdf5.h>: identifiers are
// `h5::Hid` (int64_t, the same type as hid_t since HDF5 1.10).
//
// Float16: HDF5 1.10 has no predefined half type, so we store IEEE binary16
// as a derived float type (sign 15, exponent 10..14 bias 15, mantissa 0..9),
// the same type h5py creates for numpy float16, and convert float <-> half
// ourselves (round to nearest even, like numpy/torch) instead of relying on
// HDF5's soft converter.
//
// Not for concurrent use of one file from several threads.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ldmg::io::h5 {

using Hid = std::int64_t;

// Owns one HDF5 identifier and releases it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(Hid id) noexcept : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  Hid get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now (errors ignored; the destructor does the same).
  void reset() noexcept;
  // Gives up ownership without closing.
  Hid release() noexcept {
    const Hid id = id_;
    id_ = -1;
    return id;
  }

 private:
  Hid id_ = -1;
};

// Element types as stored in a file. `other` is any type we do not write
// (e.g. uint16): it can still be read through a converting reader.
enum class ElemType { f32, f16, f64, i64, i32, u8, string, other };
const char* to_string(ElemType t);

struct DatasetOptions {
  // Chunk dims; empty = contiguous, unless compression or max_shape needs
  // chunks, then the whole shape (halved along the largest dim to <= 1 Mi elements).
  std::vector<std::int64_t> chunk;
  bool shuffle = false;
  int gzip_level = 0;  // 0 = no deflate filter, else 1..9
  // Extendible datasets: same rank as the shape; -1 = unlimited. Empty = fixed.
  std::vector<std::int64_t> max_shape;
};

struct DatasetInfo {
  ElemType type = ElemType::other;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> max_shape;  // -1 = unlimited
  std::vector<std::int64_t> chunk;      // empty if not chunked
  bool shuffle = false;
  int gzip_level = 0;  // 0 if no deflate filter
  bool is_virtual = false;
};

// One block of a virtual dataset: the whole of `dataset` in `file` (path
// relative to the virtual file's directory, or absolute; "." = the same
// file) lands at `offset` in the virtual dataset; `shape` is its shape.
struct VirtualSource {
  std::string file;
  std::string dataset;
  std::vector<std::int64_t> offset;
  std::vector<std::int64_t> shape;
};

enum class ObjectKind { none, group, dataset, other };

class Group;
class Dataset;

// A group or dataset; carries the context for error messages and attributes.
class Object {
 public:
  Hid id() const { return handle_.get(); }
  const std::string& file_path() const { return file_; }
  const std::string& path() const { return path_; }

  // Attributes (an existing one of the same name is replaced). Strings are
  // variable-length UTF-8, numbers scalars or 1-D arrays.
  void set_string_attr(const std::string& name, std::string_view value);
  void set_strings_attr(const std::string& name, const std::vector<std::string>& values);
  void set_int_attr(const std::string& name, std::int64_t value);
  void set_double_attr(const std::string& name, double value);
  void set_ints_attr(const std::string& name, std::span<const std::int64_t> values);
  void set_doubles_attr(const std::string& name, std::span<const double> values);
  void set_floats_attr(const std::string& name, std::span<const float> values);

  bool has_attr(const std::string& name) const;
  std::vector<std::string> attr_names() const;  // in name order
  void delete_attr(const std::string& name);
  // Readers check the stored class: integers for int/ints, numbers for
  // double/doubles/floats, strings (variable or fixed length) for strings.
  // Scalar readers accept a scalar or a one-element array.
  std::string string_attr(const std::string& name) const;
  std::vector<std::string> strings_attr(const std::string& name) const;
  std::int64_t int_attr(const std::string& name) const;
  double double_attr(const std::string& name) const;
  std::vector<std::int64_t> ints_attr(const std::string& name) const;
  std::vector<double> doubles_attr(const std::string& name) const;
  std::vector<float> floats_attr(const std::string& name) const;

 protected:
  Object() = default;
  Object(Handle handle, std::string file, std::string path)
      : handle_(std::move(handle)), file_(std::move(file)), path_(std::move(path)) {}
  std::string child_path(const std::string& name) const;

  Handle handle_;
  std::string file_;
  std::string path_;
  friend class Group;
};

class Dataset : public Object {
 public:
  DatasetInfo info() const;
  std::vector<std::int64_t> shape() const;
  ElemType type() const;

  // Whole-dataset writes; the element count must equal the dataset's size.
  // Floats go to f32, f16 (rounded to nearest even) or f64 datasets.
  void write(std::span<const float> values);
  void write(std::span<const double> values);
  void write(std::span<const std::int64_t> values);
  void write(std::span<const std::int32_t> values);
  void write(std::span<const std::uint8_t> values);
  void write(const std::vector<std::string>& values);
  // A hyperslab (offset, count per dim) of a float dataset.
  void write_slab(const std::vector<std::int64_t>& offset, const std::vector<std::int64_t>& count,
                  std::span<const float> values);
  // Extendible datasets only: new current shape (within max_shape).
  void resize(const std::vector<std::int64_t>& shape);

  // Whole-dataset reads, converting between numeric types where HDF5 can
  // (f16 is converted by us). Integer readers reject floating datasets.
  std::vector<float> read_floats() const;
  std::vector<double> read_doubles() const;
  std::vector<std::int64_t> read_ints() const;
  std::vector<std::uint8_t> read_bytes() const;
  std::vector<std::string> read_strings() const;
  std::vector<float> read_floats_slab(const std::vector<std::int64_t>& offset,
                                      const std::vector<std::int64_t>& count) const;

 private:
  using Object::Object;
  friend class Group;
  void write_raw(Hid mem_type, const void* data, std::size_t count, const char* what,
                 const std::vector<std::int64_t>* offset = nullptr, const std::vector<std::int64_t>* slab = nullptr);
  void read_raw(Hid mem_type, void* data, std::size_t count, const std::vector<std::int64_t>* offset = nullptr,
                const std::vector<std::int64_t>* slab = nullptr) const;
  std::vector<float> read_floats_impl(const std::vector<std::int64_t>* offset,
                                      const std::vector<std::int64_t>* count) const;
};

class Group : public Object {
 public:
  // Paths are relative to this group, or absolute ("/a/b"). Intermediate
  // groups are created as needed.
  Group create_group(const std::string& path);
  Group open_group(const std::string& path) const;
  Group require_group(const std::string& path);  // open, or create if absent

  // True if every link along `path` exists and the last one resolves to an
  // object (a dangling external link is false).
  bool exists(const std::string& path) const;
  ObjectKind kind(const std::string& path) const;
  std::vector<std::string> members() const;  // link names, in name order
  void remove(const std::string& path);      // unlinks (space is not reclaimed)

  Dataset create_dataset(const std::string& path, ElemType type, const std::vector<std::int64_t>& shape,
                         const DatasetOptions& options = {});
  Dataset open_dataset(const std::string& path) const;

  // Create + write in one call. `stored` picks f32 or f16 (or f64) for floats.
  Dataset write_floats(const std::string& path, std::span<const float> values, const std::vector<std::int64_t>& shape,
                       const DatasetOptions& options = {}, ElemType stored = ElemType::f32);
  Dataset write_doubles(const std::string& path, std::span<const double> values, const std::vector<std::int64_t>& shape,
                        const DatasetOptions& options = {});
  Dataset write_ints(const std::string& path, std::span<const std::int64_t> values,
                     const std::vector<std::int64_t>& shape, const DatasetOptions& options = {});
  Dataset write_bytes(const std::string& path, std::span<const std::uint8_t> values,
                      const std::vector<std::int64_t>& shape, const DatasetOptions& options = {});
  Dataset write_strings(const std::string& path, const std::vector<std::string>& values,
                        const DatasetOptions& options = {});

  // `name` -> object `target_path` in `target_file` (relative paths are found
  // relative to this file's directory, as HDF5 does after the working
  // directory). The target need not exist yet.
  void link_external(const std::string& name, const std::string& target_file, const std::string& target_path);
  void link_soft(const std::string& name, const std::string& target_path);

  // A virtual dataset over blocks of other datasets (HDF5 >= 1.10). Unmapped
  // elements read as NaN for float types, 0 otherwise.
  Dataset create_virtual_dataset(const std::string& path, ElemType type, const std::vector<std::int64_t>& shape,
                                 const std::vector<VirtualSource>& sources);

 protected:
  using Object::Object;
  friend class File;
};

enum class Access { read_only, read_write };

// An HDF5 file, usable as its root group "/".
class File : public Group {
 public:
  // Creates a new file. With `atomic` (default) it writes `<path>.tmp` and
  // only commit() puts it at `path` (flush, close, fsync, rename); a File
  // destroyed without commit() removes the temporary. Without `atomic`, the
  // file is created (truncated) at `path` directly.
  static File create(const std::string& path, bool atomic = true);
  static File open(const std::string& path, Access access = Access::read_only);

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  // Every Group/Dataset obtained from this file must be gone (closed)
  // before commit()/close(); otherwise they throw naming how many are open.
  void commit();
  void close();
  void flush();
  bool is_open() const { return file_handle_.valid(); }

 private:
  File() = default;
  void close_checked(const char* why);
  void abandon() noexcept;  // close without checks; remove a pending temporary
  Handle file_handle_;
  std::string tmp_path_;  // non-empty while an atomic create is pending
};

// IEEE binary16 conversions used for f16 datasets (round to nearest even;
// NaN stays NaN, overflow gives +-inf).
std::uint16_t float_to_half(float value);
float half_to_float(std::uint16_t bits);

// "HDF5 library version: 1.10.8"-style string of the linked library.
std::string library_version();

}  // namespace ldmg::io::h5
