#include "analysis/paper_tables.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <filesystem>

#include "io/file_bytes.h"
#include "metrics/aggregate.h"

namespace ldmg::analysis {

namespace {

using metrics::Metric;
struct Col {
  Metric m;
  const char* md;
  const char* tex;
  double scale;
};
constexpr Col kCols[] = {{Metric::AbsCnr, "\\|CNR\\|", "$|$CNR$|$", 1.0},
                         {Metric::Cnr, "CNR", "CNR", 1.0},
                         {Metric::Miou, "mIoU %", "mIoU (\\%)", 100.0},
                         {Metric::Auroc, "AUC-ROC %", "AUC-ROC (\\%)", 100.0}};

std::string pm(const metrics::MeanStd& v, double scale, const char* sep) {
  if (std::isnan(v.mean)) return "n/a";
  return fmt::format("{:.2f}{}{:.2f}", v.mean * scale, sep, v.std * scale);
}
std::string csvnum(double v, double scale) { return std::isnan(v) ? "" : fmt::format("{:.6g}", v * scale); }
std::string tex_escape(std::string s) {
  std::string o;
  for (char c : s) o += (c == '_' || c == '%' || c == '&' || c == '#') ? std::string("\\") + c : std::string(1, c);
  return o;
}

// Pairs of `t` scored under config c, optionally only where `keep(source)`.
template <class Keep>
std::vector<metrics::PairMetrics> scored(const ScoreTable& t, std::size_t c, const data::MsCxrDataset& ds, Keep keep) {
  std::vector<metrics::PairMetrics> out;
  const auto rows = t.rows(c, ds);
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (t.grounded(i) && keep(i)) out.push_back(rows[i].metrics);
  return out;
}

struct Block {
  std::vector<metrics::CategoryStats> cats;
  metrics::Summary avg;
};
Block block(const std::vector<metrics::PairMetrics>& pairs, const data::MsCxrDataset& ds) {
  Block b;
  b.cats = metrics::per_category(pairs, ds.categories());
  b.avg = metrics::summarize(b.cats);
  return b;
}

// One category table (Table I layout) in the three formats.
void category_table(PaperTables& out, const std::string& table, const std::string& title, const Block& b) {
  out.markdown += fmt::format("### {}\n\n| Pathology | n |", title);
  for (const auto& c : kCols) out.markdown += fmt::format(" {} |", c.md);
  out.markdown += "\n|---|---|---|---|---|---|\n";
  out.latex += fmt::format("% {}\n\\begin{{tabular}}{{lrcccc}}\n\\toprule\nPathology & n", tex_escape(title));
  for (const auto& c : kCols) out.latex += fmt::format(" & {}", c.tex);
  out.latex += " \\\\\n\\midrule\n";
  auto row = [&](const std::string& name, std::size_t n, auto get) {
    out.markdown += fmt::format("| {} | {} |", name, n);
    out.latex += fmt::format("{} & {}", tex_escape(name), n);
    out.csv += fmt::format("{},\"{}\",{},{}", table, title, name, n);
    for (const auto& c : kCols) {
      const metrics::MeanStd v = get(c.m);
      out.markdown += fmt::format(" {} |", pm(v, c.scale, " ± "));
      out.latex += fmt::format(" & {}", pm(v, c.scale, " $\\pm$ "));
      out.csv += fmt::format(",{},{}", csvnum(v.mean, c.scale), csvnum(v.std, c.scale));
    }
    out.markdown += "\n";
    out.latex += " \\\\\n";
    out.csv += "\n";
  };
  std::size_t total = 0;
  for (const auto& c : b.cats) {
    row(c.name, c.n, [&](Metric m) { return c.get(m); });
    total += c.n;
  }
  out.latex += "\\midrule\n";
  row("Avg", total, [&](Metric m) { return b.avg.get(m); });
  out.markdown += "\n";
  out.latex += "\\bottomrule\n\\end{tabular}\n\n";
}

}  // namespace

PaperTables paper_tables(const std::vector<ScoreTable>& tables, const data::MsCxrDataset& ds) {
  PaperTables out;
  out.csv = "table,block,pathology,n,abs_cnr_mean,abs_cnr_std,cnr_mean,cnr_std,miou_pct_mean,miou_pct_std,"
            "auroc_pct_mean,auroc_pct_std\n";
  auto all = [](std::size_t) { return true; };
  out.markdown += "# Table I: per pathology, mean ± std over pairs\n\n";
  for (const auto& t : tables)
    for (std::size_t c = 0; c < t.configs.size(); ++c)
      category_table(out, "I", fmt::format("T={} {}", t.T, t.configs[c].name()), block(scored(t, c, ds, all), ds));

  // Table II: one ablation row per config.
  out.markdown += "# Table II: ablations, Avg over pathologies (mean ± std of the category means)\n\n"
                  "| T | layers | window | tokens | Otsu | sigma |";
  for (const auto& c : kCols) out.markdown += fmt::format(" {} |", c.md);
  out.markdown += "\n|---|---|---|---|---|---|---|---|---|---|\n";
  out.latex += "% Table II\n\\begin{tabular}{rllllrcccc}\n\\toprule\nT & layers & window & tokens & Otsu & $\\sigma$";
  for (const auto& c : kCols) out.latex += fmt::format(" & {}", c.tex);
  out.latex += " \\\\\n\\midrule\n";
  for (const auto& t : tables)
    for (std::size_t c = 0; c < t.configs.size(); ++c) {
      const auto& cfg = t.configs[c];
      const std::string layers = fmt::format("{}", fmt::join(cfg.layers, ","));
      const std::string window = cfg.window_begin ? fmt::format("{}:{}", *cfg.window_begin, *cfg.window_end)
                                                  : fmt::format("paper ({}:{})", t.T / 2 - 10 * t.T / 100,
                                                                t.T / 2 + 10 * t.T / 100);
      const std::string tokens = cfg.tokens == pipeline::TokenMode::all         ? "all"
                                 : cfg.tokens == pipeline::TokenMode::pathology ? "pathology"
                                                                              : fmt::format("{}:{}", cfg.token_begin,
                                                                                            cfg.token_end);
      const Block b = block(scored(t, c, ds, all), ds);
      out.markdown += fmt::format("| {} | {} | {} | {} | {} | {} |", t.T, layers, window, tokens,
                                  cfg.otsu ? "on" : "off", cfg.sigma);
      out.latex += fmt::format("{} & {} & {} & {} & {} & {}", t.T, layers, window, tokens, cfg.otsu ? "on" : "off",
                               cfg.sigma);
      out.csv += fmt::format("II,\"T={} {}\",Avg,", t.T, cfg.name());
      std::size_t n = 0;
      for (const auto& cs : b.cats) n += cs.n;
      out.csv += std::to_string(n);
      for (const auto& col : kCols) {
        const auto& v = b.avg.get(col.m);
        out.markdown += fmt::format(" {} |", pm(v, col.scale, " ± "));
        out.latex += fmt::format(" & {}", pm(v, col.scale, " $\\pm$ "));
        out.csv += fmt::format(",{},{}", csvnum(v.mean, col.scale), csvnum(v.std, col.scale));
      }
      out.markdown += "\n";
      out.latex += " \\\\\n";
      out.csv += "\n";
    }
  out.markdown += "\n";
  out.latex += "\\bottomrule\n\\end{tabular}\n\n";

  // Table III: pathology vs all tokens on the prompts that contain their class name.
  out.markdown += "# Table III: pathology tokens vs all tokens, prompts containing the class name\n\n";
  bool any = false;
  for (const auto& t : tables)
    for (std::size_t p = 0; p < t.configs.size(); ++p) {
      if (t.configs[p].tokens != pipeline::TokenMode::pathology) continue;
      pipeline::HeatmapConfig twin = t.configs[p];
      twin.tokens = pipeline::TokenMode::all;
      for (std::size_t a = 0; a < t.configs.size(); ++a) {
        if (t.configs[a].name() != twin.name()) continue;
        any = true;
        auto contains = [&](std::size_t i) { return t.at(p, i, kTokensEmpty) == 0.0; };
        category_table(out, "III", fmt::format("T={} {} (pathology tokens)", t.T, t.configs[p].name()),
                       block(scored(t, p, ds, contains), ds));
        category_table(out, "III", fmt::format("T={} {} (all tokens, same prompts)", t.T, t.configs[a].name()),
                       block(scored(t, a, ds, contains), ds));
      }
    }
  if (!any)
    out.markdown += "(no tokens=pathology config with a tokens=all twin in the grid)\n\n";
  return out;
}

void write_paper_tables(const std::string& out_dir, const PaperTables& t) {
  std::filesystem::create_directories(out_dir);
  io::write_file_atomic(out_dir + "/tables.md", t.markdown);
  io::write_file_atomic(out_dir + "/tables.csv", t.csv);
  io::write_file_atomic(out_dir + "/tables.tex", t.latex);
}

}  // namespace ldmg::analysis
