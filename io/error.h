#pragma once

#include "engine/tensor.h"

namespace adx::io {

// A problem with an input file: the message names the file and what was wrong.
struct IoError : Error {
  using Error::Error;
};

}  // namespace adx::io
