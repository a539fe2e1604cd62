// libFuzzer: the RFC 4180 CSV reader (src/data/csv.h), and csv_field's round trip.
#include "data/csv.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({
    const auto t = ldmg::data::parse_csv(ldmg::fuzz::bytes(data, size), "fuzz.csv");
    // Every record has as many fields as the header (the reader's promise).
    for (const auto& r : t.rows)
      if (r.fields.size() != t.header.size()) __builtin_trap();
    // Writing the table back with csv_field and reading it again gives the same fields.
    std::string out;
    auto put = [&](const std::vector<std::string>& f) {
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
