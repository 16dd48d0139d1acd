// ROC curves drawn to a PNG, for experiment reports: no plotting library, just a small
// rasteriser (anti-aliased polylines, stb_easy_font text) over io::write_png.
#pragma once

#include <string>
#include <vector>

namespace adx::detectors {

// One curve of the plot: fpr and tpr as roc_curve (metrics.h) returns them, and the
// AUROC shown in the legend as "label (AUROC 0.873)".
struct RocSeries {
  std::string label;
  std::vector<double> fpr, tpr;
  double auroc = 0;
};

// The plot's fixed geometry, public so that a caller (or a test) can find things in the
// image: the axes box spans pixels left..left+side × top..top+side, and the point
// (fpr, tpr) is drawn centred on pixel (left + fpr·side, top + (1 − tpr)·side).
struct RocPlotGeometry {
  static constexpr int width = 480, height = 480;
  static constexpr int left = 72, top = 36, side = 388;
};

// Writes an RGB PNG of RocPlotGeometry's size: the title at the top, the axes box with
// ticks and numbers at 0, 0.2, …, 1, axis labels, the chance diagonal dashed grey, each
// curve as a 2-pixel anti-aliased polyline in a colour of a fixed palette of 8 (curve i
// gets colour i mod 8), and a legend in the lower right. Curves may hold any number of
// points (they are thinned to the plot's pixel resolution). Text outside printable
// ASCII shows as '?'. Throws an adx::Error naming `path` and the curve for a curve with
// no points, fpr and tpr of different lengths, or a NaN; an io::IoError when the file
// cannot be written.
void write_roc_png(const std::string& path, const std::vector<RocSeries>& curves, const std::string& title);

}  // namespace adx::detectors
