#include "detectors/roc_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>

#include "engine/tensor.h"
#include "io/png.h"

#include <stb/stb_easy_font.h>  // all static: private to this file

namespace adx::detectors {
namespace {

using G = RocPlotGeometry;

struct Rgb {
  uint8_t r, g, b;
};

constexpr Rgb kBlack{0, 0, 0}, kWhite{255, 255, 255}, kGrid{232, 232, 232}, kChance{150, 150, 150},
    kFrame{190, 190, 190};
// matplotlib's tab10 without its grey (the chance line's) and olive (faint on white).
constexpr std::array<Rgb, 8> kPalette{{{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                       {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}}};

struct Point {
  double x, y;
};

// The pixel-space position of a ROC point: the centre of pixel (left + fpr·side, ...).
Point to_pixel(double fpr, double tpr) {
  return {G::left + 0.5 + fpr * G::side, G::top + 0.5 + (1.0 - tpr) * G::side};
}

// An RGB image, white to begin with; every write is clipped to it.
class Canvas {
 public:
  Canvas() : pixels_(static_cast<size_t>(G::width) * G::height * 3, 255) {}
  const uint8_t* data() const { return pixels_.data(); }

  // Mixes `c` into pixel (x, y) with weight alpha in [0, 1].
  void blend(int x, int y, Rgb c, float alpha) {
    if (x < 0 || y < 0 || x >= G::width || y >= G::height) return;
    uint8_t* p = &pixels_[(static_cast<size_t>(y) * G::width + x) * 3];
    const std::array<uint8_t, 3> rgb{c.r, c.g, c.b};
    for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(p[k] + alpha * (rgb[k] - p[k])));
  }
  // Fills [x0, x1) × [y0, y1).
  void fill(int x0, int y0, int x1, int y1, Rgb c) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) blend(x, y, c, 1.0f);
  }

 private:
  std::vector<uint8_t> pixels_;
};

// The coverage of a set of thick segments, painted in one colour at the end. Taking
// the maximum coverage per pixel (not blending each segment) keeps a polyline's joints,
// where segments overlap, from coming out darker than its runs.
class Stroke {
 public:
  explicit Stroke(double radius) : radius_(radius), coverage_(static_cast<size_t>(G::width) * G::height) {}

  void add_segment(Point a, Point b) {
    const int x0 = std::max(0, static_cast<int>(std::floor(std::min(a.x, b.x) - radius_ - 1)));
    const int x1 = std::min(G::width - 1, static_cast<int>(std::ceil(std::max(a.x, b.x) + radius_ + 1)));
    const int y0 = std::max(0, static_cast<int>(std::floor(std::min(a.y, b.y) - radius_ - 1)));
    const int y1 = std::min(G::height - 1, static_cast<int>(std::ceil(std::max(a.y, b.y) + radius_ + 1)));
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) {
        // Coverage falls from 1 to 0 across the pixel-wide band at distance radius.
        const double d = distance({x + 0.5, y + 0.5}, a, b);
        float& c = coverage_[static_cast<size_t>(y) * G::width + x];
        c = std::max(c, static_cast<float>(std::clamp(radius_ + 0.5 - d, 0.0, 1.0)));
      }
  }

  void paint(Canvas& canvas, Rgb colour) const {
    for (int y = 0; y < G::height; ++y)
      for (int x = 0; x < G::width; ++x)
        if (const float c = coverage_[static_cast<size_t>(y) * G::width + x]; c > 0) canvas.blend(x, y, colour, c);
  }

 private:
  static double distance(Point p, Point a, Point b) {
    const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
    const double t = len2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
    return std::hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
  }

  double radius_;
  std::vector<float> coverage_;
};

// ---- text: stb_easy_font's quads, filled at an integer scale -----------------------

// stb_easy_font indexes a table by (char − 32): anything but printable ASCII would
// read outside it. A UTF-8 character becomes one '?' (its continuation bytes go).
std::string printable(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x80 && byte < 0xC0) continue;
    out += byte >= 32 && byte <= 126 ? ch : '?';
  }
  return out;
}

int text_width(const std::string& text, int scale) {
  std::string t = printable(text);
  return stb_easy_font_width(t.data()) * scale;
}

// Draws `text` with its top-left corner at (x, y); `upward` turns it 90° to read from
// bottom to top, starting at (x, y) and running towards smaller y (a y-axis label).
void draw_text(Canvas& canvas, const std::string& text, int x, int y, int scale, Rgb colour,
               bool upward = false) {
  std::string t = printable(text);
  struct Vertex {
    float x, y, z;
    uint8_t rgba[4];
  };
  std::vector<Vertex> quads(t.size() * 4 * 64 + 4);  // stb's worst case is ~270 bytes/char
  const int n = stb_easy_font_print(0, 0, t.data(), nullptr, quads.data(),
                                    static_cast<int>(quads.size() * sizeof(Vertex)));
  for (int q = 0; q < n; ++q) {
    const Vertex* v = &quads[static_cast<size_t>(q) * 4];  // corners 0 and 2 are opposite
    const int u0 = static_cast<int>(std::min(v[0].x, v[2].x)) * scale;
    const int u1 = static_cast<int>(std::max(v[0].x, v[2].x)) * scale;
    const int w0 = static_cast<int>(std::min(v[0].y, v[2].y)) * scale;
    const int w1 = static_cast<int>(std::max(v[0].y, v[2].y)) * scale;
    if (upward)
      canvas.fill(x + w0, y - u1, x + w1, y - u0, colour);
    else
      canvas.fill(x + u0, y + w0, x + u1, y + w1, colour);
  }
}

// Text a little over 7 font units tall sits this many pixels per unit of scale.
constexpr int kTextHeight = 7;

// ---- the plot's parts ---------------------------------------------------------------

void draw_axes(Canvas& canvas) {
  constexpr int right = G::left + G::side, bottom = G::top + G::side;
  for (int i = 0; i <= 5; ++i) {
    const int offset = static_cast<int>(std::lround(i * 0.2 * G::side));
    const int x = G::left + offset, y = bottom - offset;
    canvas.fill(x, G::top, x + 1, bottom, kGrid);  // light grid lines inside the box
    canvas.fill(G::left, y, right, y + 1, kGrid);
    canvas.fill(x, bottom, x + 1, bottom + 6, kBlack);  // ticks outside it
    canvas.fill(G::left - 5, y, G::left, y + 1, kBlack);
    const std::string number = fmt::format("{:g}", i * 0.2);
    draw_text(canvas, number, x - text_width(number, 2) / 2 + 1, bottom + 10, 2, kBlack);
    draw_text(canvas, number, G::left - 10 - text_width(number, 2), y - kTextHeight, 2, kBlack);
  }
  canvas.fill(G::left, G::top, right + 1, G::top + 1, kBlack);  // the box, on the grid
  canvas.fill(G::left, bottom, right + 1, bottom + 1, kBlack);
  canvas.fill(G::left, G::top, G::left + 1, bottom + 1, kBlack);
  canvas.fill(right, G::top, right + 1, bottom + 1, kBlack);
  const std::string x_label = "false positive rate", y_label = "true positive rate";
  draw_text(canvas, x_label, G::left + (G::side - text_width(x_label, 2)) / 2, bottom + 32, 2, kBlack);
  draw_text(canvas, y_label, 6, G::top + (G::side + text_width(y_label, 2)) / 2, 2, kBlack, true);
}

// The chance line fpr = tpr, in 8-pixel dashes with 6-pixel gaps.
void draw_chance(Canvas& canvas) {
  const Point a = to_pixel(0, 0), b = to_pixel(1, 1);
  const double length = std::hypot(b.x - a.x, b.y - a.y);
  Stroke stroke(0.6);
  for (double s = 0; s < length; s += 14) {
    const double t0 = s / length, t1 = std::min(s + 8, length) / length;
    stroke.add_segment({a.x + t0 * (b.x - a.x), a.y + t0 * (b.y - a.y)},
                       {a.x + t1 * (b.x - a.x), a.y + t1 * (b.y - a.y)});
  }
  stroke.paint(canvas, kChance);
}

// The curve's points in pixels, keeping only the first point to land in each pixel (and
// the last point): a 60,000-point curve becomes a few hundred segments, and what is
// dropped moves the line by under a pixel.
std::vector<Point> thin_to_pixels(const RocSeries& curve) {
  std::vector<Point> points;
  auto cell = [](Point p) { return std::pair{std::floor(p.x), std::floor(p.y)}; };
  for (size_t i = 0; i < curve.fpr.size(); ++i) {
    const Point p = to_pixel(std::clamp(curve.fpr[i], 0.0, 1.0), std::clamp(curve.tpr[i], 0.0, 1.0));
    if (points.empty() || cell(p) != cell(points.back()) || i + 1 == curve.fpr.size()) points.push_back(p);
  }
  return points;
}

void draw_curve(Canvas& canvas, const RocSeries& curve, Rgb colour) {
  const std::vector<Point> points = thin_to_pixels(curve);
  Stroke stroke(1.0);  // 2 pixels wide, plus the anti-aliased fringe
  stroke.add_segment(points.front(), points.front());  // a one-point curve is a dot
  for (size_t i = 1; i < points.size(); ++i) stroke.add_segment(points[i - 1], points[i]);
  stroke.paint(canvas, colour);
}

// "label (AUROC 0.873)" per curve behind a colour swatch, boxed in the lower right of
// the axes, where ROC curves (which bow to the upper left) leave room. Text is at scale
// 2 when the legend fits the axes that way, else at scale 1.
void draw_legend(Canvas& canvas, const std::vector<RocSeries>& curves) {
  if (curves.empty()) return;
  std::vector<std::string> entries;
  int widest = 0;
  for (const RocSeries& c : curves) {
    entries.push_back(fmt::format("{} (AUROC {:.3f})", c.label, c.auroc));
    widest = std::max(widest, text_width(entries.back(), 1));
  }
  constexpr int swatch = 20, pad = 6;
  const int scale = swatch + 3 * pad + 2 * widest <= G::side - 16 ? 2 : 1;
  const int row = (kTextHeight + 4) * scale + 2;
  const int width = swatch + 3 * pad + scale * widest, height = static_cast<int>(entries.size()) * row + pad;
  const int x0 = G::left + G::side - 8 - width, y0 = G::top + G::side - 8 - height;
  canvas.fill(x0, y0, x0 + width, y0 + height, kFrame);
  canvas.fill(x0 + 1, y0 + 1, x0 + width - 1, y0 + height - 1, kWhite);
  for (size_t i = 0; i < entries.size(); ++i) {
    const int y = y0 + pad + static_cast<int>(i) * row;
    const int mid = y + kTextHeight * scale / 2;
    Stroke stroke(1.0);
    stroke.add_segment({x0 + pad + 0.5, mid + 0.5}, {x0 + pad + swatch + 0.5, mid + 0.5});
    stroke.paint(canvas, kPalette[i % kPalette.size()]);
    draw_text(canvas, entries[i], x0 + 2 * pad + swatch, y, scale, kBlack);
  }
}

void draw_title(Canvas& canvas, const std::string& title) {
  const int scale = text_width(title, 2) <= G::width - 8 ? 2 : 1;
  const int x = std::max(4, (G::width - text_width(title, scale)) / 2);
  draw_text(canvas, title, x, (G::top - kTextHeight * scale) / 2 - 2, scale, kBlack);
}

void check_curves(const std::string& path, const std::vector<RocSeries>& curves) {
  for (const RocSeries& c : curves) {
    const std::string who = fmt::format("{}: ROC curve '{}'", path, c.label);
    if (c.fpr.empty() || c.fpr.size() != c.tpr.size())
      throw Error(fmt::format("{} has {} fpr and {} tpr values (need the same number, at least 1)", who,
                              c.fpr.size(), c.tpr.size()));
    const auto is_nan = [](double v) { return std::isnan(v); };
    if (std::ranges::any_of(c.fpr, is_nan) || std::ranges::any_of(c.tpr, is_nan))
      throw Error(who + " holds NaN");
  }
}

}  // namespace

void write_roc_png(const std::string& path, const std::vector<RocSeries>& curves, const std::string& title) {
  check_curves(path, curves);
  Canvas canvas;
  draw_axes(canvas);
  draw_chance(canvas);
  for (size_t i = 0; i < curves.size(); ++i) draw_curve(canvas, curves[i], kPalette[i % kPalette.size()]);
  draw_legend(canvas, curves);
  draw_title(canvas, title);
  io::write_png(path, canvas.data(), G::width, G::height, 3);
}

}  // namespace adx::detectors
