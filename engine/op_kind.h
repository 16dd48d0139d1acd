// The closed set of primitive ops that autograd records. Everything else in the
// engine (softmax, losses, batch norm, var, ...) is composed from these and has no
// backward rule of its own. The enum ends in a count and the name table is checked
// against it at compile time, so a new op cannot be added without its name.
#pragma once

#include <cstddef>

namespace adx {

#define ADX_OP_LIST(X)                                                                  \
  X(Add) X(Sub) X(Mul) X(Div) X(Neg) X(PowScalar) X(Exp) X(Log) X(Sqrt) X(Abs)          \
  X(Relu) X(LeakyRelu) X(Elu) X(Sigmoid) X(Tanh) X(Softplus) X(Clamp) X(Where)          \
  X(Sum) X(Expand) X(Reshape) X(Permute) X(Slice) X(SliceBackward) \
  X(Concat) X(IndexSelect) X(IndexAdd) X(Gather) X(ScatterAdd) X(Matmul) X(Linear) \
  X(Conv2d) X(Conv2dWeightGrad) X(ConvTranspose2d) X(AvgPool2d) X(AvgPool2dBackward)   \
  X(ChannelWindowSum) X(Upsample) X(UpsampleBackward) X(Clone)          \
  X(BatchNormTrain) X(ChannelAffine) X(LeakyReluBackward) X(ToDevice) \
  X(MaxPoolGather) X(MaxPoolScatter) X(TakeAlongDim) X(PutAlongDim)

enum class OpKind {
#define ADX_OP_ENUM(name) name,
  ADX_OP_LIST(ADX_OP_ENUM)
#undef ADX_OP_ENUM
      Count
};

inline constexpr const char* kOpNames[] = {
#define ADX_OP_NAME(name) #name,
    ADX_OP_LIST(ADX_OP_NAME)
#undef ADX_OP_NAME
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<size_t>(OpKind::Count),
              "every OpKind needs a name");

inline const char* op_name(OpKind op) { return kOpNames[static_cast<size_t>(op)]; }

}  // namespace adx
