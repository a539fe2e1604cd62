// libFuzzer: the RFC 4180 CSV reader (src/data/csv.h), and csv_field's round trip.
#include "data/csv.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({
    const auto t = ldmg::data::parse_csv(ldmg::fuzz::bytes(data, size), "fuzz.csv");
    // Every record has as many fields as the header (the reader's promise).
    for (const auto& r : t.rows)
      if (r.fields.size() != t.header.size()) __builtin_trap();
    // Writing the table back with csv_field and reading it again gives the same
    // fields - except a first header name that itself starts with a byte-order
    // mark (a second BOM), which the re-read strips as the file's BOM.
    if (!t.header.empty() && t.header[0].rfind("\xEF\xBB\xBF", 0) == 0) return 0;
    std::string out;
    auto put = [&](const std::vector<std::string>& f) {
      // A record of one empty field must be written "" (an empty line is a
      // blank line, which readers skip); csv_field cannot know, the writer must.
      if (f.size() == 1 && f[0].empty()) {
        out += "\"\"\n";
        return;
      }
      for (std::size_t i = 0; i < f.size(); ++i) out += (i ? "," : "") + ldmg::data::csv_field(f[i]);
      out += "\n";
    };
    put(t.header);
    for (const auto& r : t.rows) put(r.fields);
    const auto u = ldmg::data::parse_csv(out, "roundtrip.csv");
    if (u.header != t.header || u.rows.size() != t.rows.size()) __builtin_trap();
    for (std::size_t i = 0; i < t.rows.size(); ++i)
      if (u.rows[i].fields != t.rows[i].fields) __builtin_trap();
  });
  return 0;
}
