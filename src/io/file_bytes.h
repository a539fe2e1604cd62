#pragma once
// Whole-file reads and crash-safe whole-file writes.
#include <string>
#include <string_view>

namespace ldmg::io {

// Reads the file into memory; throws ldmg::Error naming the path on failure.
std::string read_file_bytes(const std::string& path);

// Writes `bytes` to `path` atomically: a sibling temporary file, fsync, rename.
// A crash leaves either the old file or the new one, never half of it.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace ldmg::io
