#pragma once
// Read-only bytes of a whole file or buffer, shared by the views parsed out
// of them. A weights file is mapped rather than read so that loading a model
// costs its parameters plus the tensor being copied, not parameters plus the
// whole file (the text encoder alone is 1.2 GB): release() hands the pages of
// a range back once it has been consumed.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace ldmg::io {

class ByteStore {
 public:
  ByteStore();
  ByteStore(std::string bytes);  // NOLINT(google-explicit-constructor): a buffer in memory (tests, fuzzers)

  // Maps `path` read-only. Throws ldmg::Error naming the path when it is
  // missing, a directory or unreadable. The file must not be truncated while
  // mapped (weights are not rewritten in place).
  static ByteStore map_file(const std::string& path);

  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)

  // Says that [offset, offset+length) will not be read again soon. A mapped
  // file drops the whole pages inside the range from this process's memory
  // (they are read from the file again if touched); a buffer keeps them.
  void release(std::size_t offset, std::size_t length) const;

 private:
  struct Owner;
  std::shared_ptr<const Owner> owner_;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ldmg::io
