#include "io/svhn.h"

#include <matio.h>

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <memory>

#include "io/error.h"

namespace adx::io {
namespace {

struct MatClose {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFree {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatClose>;
using MatVar = std::unique_ptr<matvar_t, VarFree>;

std::string dims_str(const matvar_t* v) {
  std::string s;
  for (int i = 0; i < v->rank; ++i) s += (i ? "×" : "") + std::to_string(v->dims[i]);
  return s;
}

size_t numel(const matvar_t* v) {
  size_t n = 1;
  for (int i = 0; i < v->rank; ++i) n *= v->dims[i];
  return n;
}

// Element i of a numeric variable, as a double.
double value_at(const matvar_t* v, size_t i) {
  switch (v->class_type) {
    case MAT_C_DOUBLE: return static_cast<const double*>(v->data)[i];
    case MAT_C_SINGLE: return static_cast<const float*>(v->data)[i];
    case MAT_C_INT8: return static_cast<const int8_t*>(v->data)[i];
    case MAT_C_UINT8: return static_cast<const uint8_t*>(v->data)[i];
    case MAT_C_INT16: return static_cast<const int16_t*>(v->data)[i];
    case MAT_C_UINT16: return static_cast<const uint16_t*>(v->data)[i];
    case MAT_C_INT32: return static_cast<const int32_t*>(v->data)[i];
    case MAT_C_UINT32: return static_cast<const uint32_t*>(v->data)[i];
    case MAT_C_INT64: return static_cast<double>(static_cast<const int64_t*>(v->data)[i]);
    case MAT_C_UINT64: return static_cast<double>(static_cast<const uint64_t*>(v->data)[i]);
    default: return std::nan("");
  }
}

bool is_real_numeric(const matvar_t* v) {
  switch (v->class_type) {
    case MAT_C_DOUBLE:
    case MAT_C_SINGLE:
    case MAT_C_INT8:
    case MAT_C_UINT8:
    case MAT_C_INT16:
    case MAT_C_UINT16:
    case MAT_C_INT32:
    case MAT_C_UINT32:
    case MAT_C_INT64:
    case MAT_C_UINT64: return !v->isComplex;
    default: return false;
  }
}

MatVar read_var(mat_t* mat, const std::string& path, const char* name) {
  MatVar v(Mat_VarRead(mat, name));
  if (!v) throw IoError(fmt::format("{}: no variable '{}' (or it cannot be read)", path, name));
  if (!v->data) throw IoError(fmt::format("{}: variable '{}' holds no data", path, name));
  return v;
}

}  // namespace

LabelledImages read_svhn_mat(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw IoError(path + ": no such file");
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw IoError(path + ": not a MATLAB .mat file (or it cannot be opened)");

  // Check X's header before reading its data (225 MB in train_32x32.mat).
  {
    MatVar info(Mat_VarReadInfo(mat.get(), "X"));
    if (!info) throw IoError(path + ": no variable 'X' (the images)");
    if (info->rank != 4 || info->dims[2] != 3 || info->dims[0] == 0 || info->dims[1] == 0 ||
        info->dims[3] == 0)
      throw IoError(fmt::format("{}: variable 'X' is {}, expected H×W×3×N (32×32×3×N)", path,
                                dims_str(info.get())));
    if (info->class_type != MAT_C_UINT8 || info->isComplex)
      throw IoError(fmt::format("{}: variable 'X' is not a real uint8 array (class {})", path,
                                static_cast<int>(info->class_type)));
  }
  const MatVar x = read_var(mat.get(), path, "X");
  const MatVar y = read_var(mat.get(), path, "y");
  const auto h = static_cast<int64_t>(x->dims[0]), w = static_cast<int64_t>(x->dims[1]);
  const auto n = static_cast<int64_t>(x->dims[3]);
  if (x->rank != 4 || x->class_type != MAT_C_UINT8 ||
      x->nbytes != static_cast<size_t>(n * 3 * h * w))  // the header changed between reads?
    throw IoError(
        fmt::format("{}: variable 'X' could not be read as uint8 {}×{}×3×{}", path, h, w, n));
  if (!is_real_numeric(y.get()) || y->rank != 2 || numel(y.get()) != static_cast<size_t>(n) ||
      (y->dims[0] != 1 && y->dims[1] != 1))
    throw IoError(fmt::format("{}: variable 'y' is {} (class {}), expected {} real labels (N×1)",
                              path, dims_str(y.get()), static_cast<int>(y->class_type), n));

  LabelledImages out;
  out.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double v = value_at(y.get(), static_cast<size_t>(i));
    if (!(v >= 1 && v <= 10) || v != std::floor(v))
      throw IoError(fmt::format("{}: y({}) is {}, expected a label 1-10 (10 for the digit 0)", path,
                                i + 1, v));
    out.labels[static_cast<size_t>(i)] = static_cast<int>(v) % 10;
  }
  // MATLAB's X(r, c, ch, i) sits at r + H·(c + W·(ch + 3·i)); ours at ((i·3 + ch)·H + r)·W + c.
  out.images = Tensor::empty({n, 3, h, w});
  const auto* src = static_cast<const uint8_t*>(x->data);
  float* dst = out.images.data();
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < n * 3; ++plane) {
    const uint8_t* s = src + plane * h * w;
    float* d = dst + plane * h * w;
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) d[r * w + c] = static_cast<float>(s[r + h * c]) / 255.0f;
  }
  return out;
}

LabelledImages load_svhn(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "test" && split != "extra")
    throw IoError(fmt::format("SVHN split '{}' is not 'train', 'test' or 'extra'", split));
  const std::string path = dir + "/" + split + "_32x32.mat";
  if (!std::filesystem::is_regular_file(path))
    throw IoError(path + ": no such file (is the data directory right? set ADX_DATA)");
  return read_svhn_mat(path);
}

}  // namespace adx::io
