// Writing a whole file atomically: a temporary file next to `path` is filled, fsync'ed
// and renamed over it, so readers see either the old file or the complete new one, never
// a prefix (a run killed mid-write, a full disk). The process id and a counter keep
// concurrent writers apart. Failures throw an IoError naming `path`; no temporary file
// is left behind. (HDF5 files have their own: io::h5::write_atomically.)
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace adx::io {

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace adx::io
