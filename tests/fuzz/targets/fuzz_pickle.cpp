// libFuzzer: the restricted unpickler alone (src/io/pickle_reader.h), with
// hooks that allow a few globals and build opaque objects, so the opcode
// machinery (memo, marks, frames, REDUCE/BUILD/PERSID) is reached without a zip.
#include "fuzz_common.h"
#include "io/pickle_reader.h"

using ldmg::io::PickleRef;
using ldmg::io::PickleValue;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ldmg::io::PickleHooks h;
  h.find_class = [](const std::string& module, const std::string& name) -> PickleRef {
    LDMG_CHECK(module == "collections" || module == "torch", "forbidden global {}.{}", module, name);
    auto g = PickleValue::make(PickleValue::Kind::Global);
    g->s = module + "." + name;
    return g;
  };
  h.reduce = [](const PickleRef& callable, const PickleRef& args) -> PickleRef {
    LDMG_CHECK(callable && callable->is(PickleValue::Kind::Global), "REDUCE on a {}",
               callable ? ldmg::io::pickle_kind_name(*callable) : "null");
    LDMG_CHECK(args && args->is(PickleValue::Kind::Tuple), "REDUCE args not a tuple");
    if (callable->s == "collections.OrderedDict") return PickleValue::make(PickleValue::Kind::Dict);
    auto o = PickleValue::make(PickleValue::Kind::Object);
    o->s = callable->s;
    return o;
  };
  h.persistent_load = [](const PickleRef& pid) -> PickleRef {
    LDMG_CHECK(pid && pid->is(PickleValue::Kind::Tuple), "persistent id not a tuple");
    return PickleValue::make(PickleValue::Kind::Object);
  };
  h.build = [](const PickleRef&, const PickleRef&) {};
  LDMG_FUZZ_BODY({
    const auto v = ldmg::io::unpickle(ldmg::fuzz::bytes(data, size), h, "fuzz.pkl");
    if (!v) __builtin_trap();
  });
  return 0;
}
