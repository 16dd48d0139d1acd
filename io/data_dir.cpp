#include "io/data_dir.h"

#include <cstdlib>

namespace adx::io {

std::string data_dir() {
  const char* env = std::getenv("ADX_DATA");
  return env && *env ? std::string(env) : std::string("data");
}

}  // namespace adx::io
