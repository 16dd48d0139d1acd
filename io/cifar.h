// CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) in the official binary format, or
// CIFAR-10 as an image folder ({train,test}/<class>/<file>).
//
// A binary batch is a sequence of records, one per image: the label byte(s), then
// 3,072 pixel bytes: the 32×32 red plane, then green, then blue, each row-major,
// which is already the (C, H, W) layout. CIFAR-10 records have 1 label byte (0-9);
// CIFAR-100 records have 2: the coarse label (0-19), then the fine label (0-99).
#pragma once

#include <string>
#include <vector>

#include "io/idx.h"

namespace adx::io {

enum class Cifar100Label { Fine, Coarse };

// One batch file (data_batch_N.bin, test_batch.bin; CIFAR-100's train.bin, test.bin):
// images (N, 3, 32, 32) in [0, 1] and labels. Throws an IoError naming the file when
// its size is not a whole number of records (truncated or trailing bytes), when it is
// empty, or when a label is out of range.
LabelledImages read_cifar10_batch(const std::string& path);
LabelledImages read_cifar100_batch(const std::string& path,
                                   Cifar100Label label = Cifar100Label::Fine);

// The CIFAR-10 class names in label order (airplane, automobile, ..., truck); sorted
// by name they are in the same order, so an image folder's labels agree.
const std::vector<std::string>& cifar10_class_names();

// Loads `split` ("train" or "test") of CIFAR-10 from `dir`, which holds either the
// official binary batches (data_batch_1..5.bin and test_batch.bin, 10,000 records
// each, directly or in cifar-10-batches-bin/) or image folders <split>/<class>/<file>
// whose class folders are the ten CIFAR-10 classes.
LabelledImages load_cifar10(const std::string& dir, const std::string& split);

// Loads `split` of CIFAR-100 from `dir` holding train.bin (50,000 records) and
// test.bin (10,000), directly or in cifar-100-binary/.
LabelledImages load_cifar100(const std::string& dir, const std::string& split,
                             Cifar100Label label = Cifar100Label::Fine);

}  // namespace adx::io
