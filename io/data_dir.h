#pragma once

#include <string>

namespace adx::io {

// The data directory: $ADX_DATA if set, else ./data.
std::string data_dir();

}  // namespace adx::io
