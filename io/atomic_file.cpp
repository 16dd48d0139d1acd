#include "io/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fmt/format.h>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "io/error.h"

namespace adx::io {
namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::error_code(errno, std::generic_category()).message(); }

// Writes all of `bytes` to `fd`, retrying short writes; false (with errno set) on failure.
bool write_all(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

void replace_file_atomically(const std::string& path, const std::function<void(const std::string& tmp)>& fill) {
  // pid and a process-wide counter: concurrent writers never share a temporary.
  static std::atomic<uint64_t> counter{0};
  const fs::path target(path);
  const std::string tmp = (target.parent_path() / fmt::format(".adx-tmp-{}-{}-{}", ::getpid(), counter++,
                                                              target.filename().string())).string();
  try {
    fill(tmp);
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    const std::string why = synced ? "" : errno_text();
    if (fd >= 0) ::close(fd);
    if (!synced) throw IoError(fmt::format("{}: cannot write ({})", path, why));
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) throw IoError(fmt::format("{}: cannot rename {} over it ({})", path, tmp, ec.message()));
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  // Make the rename itself durable: sync the folder's entry.
  const std::string folder = target.parent_path().empty() ? "." : target.parent_path().string();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
  replace_file_atomically(path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) throw IoError(fmt::format("{}: cannot write ({})", path, errno_text()));
    const bool written = write_all(fd, bytes);
    const std::string why = written ? "" : errno_text();
    const bool closed = ::close(fd) == 0;  // NFS and friends report write errors here
    if (!written || !closed) throw IoError(fmt::format("{}: cannot write ({})", path, written ? errno_text() : why));
  });
}

void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace adx::io
