// Writing a whole file atomically: a temporary file next to `path` is filled, fsync'ed
// and renamed over it, so readers see either the old file or the complete new one, never
// a prefix (a run killed mid-write, a full disk). The process id and a counter keep
// concurrent writers apart. Failures throw an IoError naming `path` (or, from inside
// `fill`, the temporary); no temporary file is left behind. io::h5::write_atomically
// builds HDF5 files on the same function.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace adx::io {

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);
// The general form: `fill(tmp)` creates, writes and closes the whole file at the
// temporary path `tmp` (throwing on failure); it is then fsync'ed and renamed over `path`.
void replace_file_atomically(const std::string& path, const std::function<void(const std::string& tmp)>& fill);
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace adx::io
